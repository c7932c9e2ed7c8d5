"""Commercial master data: products, price lists, payment terms, exchange rates,
and each partner's commercial terms.

Goodwill is a CRM, not a ledger: it keeps what relationships, profitability,
campaigns and the portal need. Only managers change master data; every change
goes through ``goodwill.sales.services`` and prices are resolved by
``goodwill.sales.pricing``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from goodwill.lib.jobs import BackgroundJob
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.partners.models import Partner


class ProductCategory(models.Model):
    """A hierarchical product category: "Machines / Robots / Grippers"."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "product categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="sales_category_unique_name_in_parent",
                nulls_distinct=False,
                violation_error_message="A category with this name already exists here.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A product or a service that the business sells or buys."""

    class Kind(models.TextChoices):
        PRODUCT = "product", "Product"
        SERVICE = "service", "Service"

    class Unit(models.TextChoices):
        UNIT = "unit", "Unit"
        HOUR = "hour", "Hour"
        DAY = "day", "Day"
        MONTH = "month", "Month"
        KG = "kg", "Kilogram"
        M = "m", "Metre"
        M2 = "m2", "Square metre"
        L = "l", "Litre"
        PACK = "pack", "Pack"

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PRODUCT)
    category = models.ForeignKey(
        ProductCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    unit = models.CharField(
        "unit of measure", max_length=10, choices=Unit.choices, default=Unit.UNIT
    )
    list_price = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        default=0,
        help_text="In the company currency (COMPANY_CURRENCY).",
    )
    cost = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    tax_rate = models.DecimalField(
        "tax rate (%)",
        max_digits=7,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code", "id"]
        indexes = [models.Index(fields=["name", "id"], name="product_name_id")]

    def __str__(self) -> str:
        return f"[{self.code}] {self.name}"


class PaymentTerm(models.Model):
    """Net N days, or N % now and the rest in M days."""

    name = models.CharField(max_length=100, unique=True)
    upfront_percent = models.DecimalField(
        "due at once (%)",
        max_digits=7,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    net_days = models.PositiveIntegerField("rest due after (days)", default=30)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["net_days", "name"]

    def __str__(self) -> str:
        return self.name


class ExchangeRate(models.Model):
    """How many units of *currency* one unit of the company currency buys, from a date."""

    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    valid_from = models.DateField()
    rate = models.DecimalField(max_digits=20, decimal_places=10, validators=[MinValueValidator(0)])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "valid_from"],
                name="sales_rate_unique_day",
                violation_error_message="There is already a rate for this currency on this day.",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="sales_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} from {self.valid_from}"


class PriceList(models.Model):
    """Prices in one currency, in dated versions of ordered rules."""

    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceListVersion(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=100)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["price_list", "-valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="sales_version_dates_in_order",
                violation_error_message="A version cannot end before it starts.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.price_list.name} / {self.name}"


class PriceRule(models.Model):
    """One rule of a version, evaluated in sequence order; the first that applies wins.

    It applies to a product, or to a product category (and its subcategories),
    or to everything, from a minimum quantity. The price is either fixed, or
    a base (the product's list price, or its price on another price list) less
    a discount plus a surcharge.
    """

    class Base(models.TextChoices):
        LIST_PRICE = "list", "List price"
        OTHER_LIST = "pricelist", "Another price list"
        FIXED = "fixed", "Fixed price"

    version = models.ForeignKey(PriceListVersion, on_delete=models.CASCADE, related_name="rules")
    sequence = models.PositiveIntegerField(default=10)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="price_rules"
    )
    category = models.ForeignKey(
        ProductCategory, null=True, blank=True, on_delete=models.CASCADE, related_name="price_rules"
    )
    min_quantity = models.DecimalField(
        max_digits=18, decimal_places=4, default=0, validators=[MinValueValidator(0)]
    )
    base = models.CharField(max_length=10, choices=Base.choices, default=Base.LIST_PRICE)
    base_price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fixed_price = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    discount_percent = models.DecimalField(
        "discount (%)",
        max_digits=7,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(-1000), MaxValueValidator(100)],
    )
    surcharge = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        ordering = ["version", "sequence", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=True) | Q(category__isnull=True),
                name="sales_rule_product_or_category",
                violation_error_message="A rule applies to a product or to a category, not both.",
            ),
        ]

    def __str__(self) -> str:
        return f"Rule {self.sequence} of {self.version}"


class PartnerTerms(models.Model):
    """A partner's commercial terms (one row per partner that has any)."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="terms")
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplier_price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment_term = models.ForeignKey(
        PaymentTerm, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credit_limit = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    external_id = models.CharField(
        "id in the ERP", max_length=100, blank=True, help_text="Used to match imported documents."
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "partner terms"
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="sales_terms_unique_external_id",
                violation_error_message="Another partner already has this ERP id.",
            )
        ]

    def __str__(self) -> str:
        return f"Terms of {self.partner}"


class DocumentSequence(models.Model):
    """The last number given to a kind of document in a year.

    Numbers are given when a document is posted, in the posting's transaction,
    with this row locked: a rolled-back posting gives its number back, so posted
    documents have no gaps (``INV/2026/00042``).
    """

    prefix = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="sales_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}/{self.year}: {self.last}"


class Invoice(models.Model):
    """A customer invoice or credit note, or a vendor bill or refund.

    Drafts can change; posting numbers the invoice and freezes it (corrections
    go through a credit note or a refund).
    """

    class Kind(models.TextChoices):
        CUSTOMER_INVOICE = "out_invoice", "Customer invoice"
        CUSTOMER_CREDIT = "out_refund", "Credit note"
        VENDOR_BILL = "in_invoice", "Vendor bill"
        VENDOR_REFUND = "in_refund", "Vendor refund"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        POSTED = "posted", "Posted"
        PARTIAL = "partial", "Partially paid"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    number = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="invoices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    invoice_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    payment_term = models.ForeignKey(
        PaymentTerm, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="The vendor's number, or the customer's order."
    )
    origin = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        help_text="The invoice a credit note or refund corrects.",
    )
    notes = models.TextField(blank=True)
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
    )
    cases = models.ManyToManyField(
        "cases.Case",
        blank=True,
        related_name="invoices",
        help_text="The requests this document answers.",
    )
    amount_untaxed = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    amount_tax = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    amount_total = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    amount_paid = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-invoice_date", "-id"]
        permissions = [("post_invoice", "Can post and cancel invoices")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "number"], condition=~Q(number=""), name="sales_invoice_number"
            )
        ]
        indexes = [
            models.Index(fields=["partner", "-invoice_date", "-id"], name="invoice_partner_date"),
            models.Index(
                fields=["partner", "due_date"],
                condition=Q(state__in=["posted", "partial"]),
                name="invoice_open_due",
            ),
            models.Index(fields=["invoice_date", "kind"], name="invoice_date_kind"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()} {self.pk}"

    @property
    def amount_residual(self) -> object:
        return self.amount_total - self.amount_paid

    @property
    def is_refund(self) -> bool:
        return self.kind in {self.Kind.CUSTOMER_CREDIT, self.Kind.VENDOR_REFUND}


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveIntegerField(default=10)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, default=1)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    discount_percent = models.DecimalField(
        "discount (%)",
        max_digits=7,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    tax_rate = models.DecimalField("tax (%)", max_digits=7, decimal_places=4, default=0)
    subtotal = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    tax_amount = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        ordering = ["invoice", "sequence", "id"]

    def __str__(self) -> str:
        return self.description


class Payment(models.Model):
    """Money received from a customer or paid to a supplier, allocated to
    invoices; what is not allocated stays as credit on the partner."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Received"
        OUTBOUND = "out", "Paid"

    class Method(models.TextChoices):
        BANK = "bank", "Bank transfer"
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        CHEQUE = "cheque", "Cheque"
        OTHER = "other", "Other"

    direction = models.CharField(max_length=3, choices=Direction.choices)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    payment_date = models.DateField()
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.BANK)
    reference = models.CharField(max_length=100, blank=True)
    amount_allocated = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-payment_date", "-id"]
        indexes = [models.Index(fields=["partner", "-payment_date", "-id"], name="payment_partner")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sales_payment_positive")
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_direction_display()} {self.amount} {self.currency} on {self.payment_date}"
        )

    @property
    def amount_unallocated(self) -> object:
        return self.amount - self.amount_allocated


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sales_allocation_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment} to {self.invoice}"


class CreditAllocation(models.Model):
    """Part of a posted credit note (or vendor refund) set off against a posted
    invoice (or vendor bill) of the same partner and currency: both count it
    as paid."""

    credit_note = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits_given")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits_received")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_allocation_positive")
        ]

    def __str__(self) -> str:
        return f"{self.credit_note} → {self.invoice}: {self.amount}"


class Order(models.Model):
    """A quotation that becomes a sales order, or a purchase order to a supplier."""

    class Kind(models.TextChoices):
        SALE = "sale", "Quotation / sales order"
        PURCHASE = "purchase", "Purchase order"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        CONFIRMED = "confirmed", "Confirmed"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SALE)
    number = models.CharField(max_length=30, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="orders")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    order_date = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    payment_term = models.ForeignKey(
        PaymentTerm, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    cases = models.ManyToManyField(
        "cases.Case",
        blank=True,
        related_name="orders",
        help_text="The requests this document answers.",
    )
    amount_untaxed = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    amount_tax = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    amount_total = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-order_date", "-id"]
        indexes = [
            models.Index(fields=["partner", "-order_date", "-id"], name="order_partner_date")
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveIntegerField(default=10)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, default=1)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    discount_percent = models.DecimalField(
        "discount (%)", max_digits=7, decimal_places=4, default=0
    )
    tax_rate = models.DecimalField("tax (%)", max_digits=7, decimal_places=4, default=0)
    subtotal = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    tax_amount = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    quantity_invoiced = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    quantity_delivered = models.DecimalField(
        "quantity delivered or received", max_digits=18, decimal_places=4, default=0
    )

    class Meta:
        ordering = ["order", "sequence", "id"]

    def __str__(self) -> str:
        return self.description


class Shipment(models.Model):
    """Goods going out to a customer (a delivery) or coming in from a supplier (a receipt).

    The promised date is what was agreed; the actual date is when it was done.
    On-time delivery, a supplier-quality figure, compares the two.
    """

    class Kind(models.TextChoices):
        DELIVERY = "delivery", "Delivery"
        RECEIPT = "receipt", "Receipt"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    number = models.CharField(max_length=30, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="shipments")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    promised_date = models.DateField(null=True, blank=True)
    actual_date = models.DateField(null=True, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-promised_date", "-id"]
        indexes = [
            models.Index(fields=["partner", "kind", "actual_date"], name="shipment_partner_kind"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def on_time(self) -> bool | None:
        """True when done by the promised date; None while there is nothing to compare."""
        if self.state != self.State.DONE or not self.promised_date or not self.actual_date:
            return None
        return self.actual_date <= self.promised_date


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveIntegerField(default=10)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="shipment_lines"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(
        max_digits=18, decimal_places=4, default=1, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["shipment", "sequence", "id"]

    def __str__(self) -> str:
        return self.description


class WorkRecord(models.Model):
    """Time spent on a case, or a product used for it, and whether it is billable.

    Quotations, invoices and purchase orders made from a case take their lines
    from these records; an invoiced record points at its invoice, so that it is
    never invoiced twice (cancelling the draft frees it again).
    """

    class Kind(models.TextChoices):
        TIME = "time", "Time"
        PRODUCT = "product", "Product"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="work_records")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TIME)
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For time, the service it is billed as.",
    )
    description = models.CharField(max_length=500, blank=True)
    quantity = models.DecimalField(
        "quantity (hours for time)",
        max_digits=18,
        decimal_places=4,
        validators=[MinValueValidator(0)],
    )
    billable = models.BooleanField(default=True)
    work_date = models.DateField(default=timezone.localdate)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_records",
        help_text="The invoice (or vendor bill) that billed this record.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "work_date", "id"]
        indexes = [
            models.Index(
                fields=["case"],
                condition=Q(billable=True, invoice__isnull=True),
                name="work_billable_open",
            ),
        ]

    def __str__(self) -> str:
        return self.description or str(self.product or self.get_kind_display())


class DocumentLayout(models.Model):
    """How the company's quotations and invoices look: one row, edited by managers."""

    company_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True, help_text="As printed, one line per line.")
    vat = models.CharField("VAT number", max_length=40, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    website = models.CharField(max_length=200, blank=True)
    bank_details = models.TextField(blank=True, help_text="Printed under the totals of invoices.")
    footer = models.TextField(blank=True)
    logo = models.BinaryField(null=True, blank=True, editable=True)
    logo_type = models.CharField(max_length=40, blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f4e79")
    secondary_colour = models.CharField(max_length=7, default="#e8eef5")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.company_name or "Document layout"


class SalesImport(BackgroundJob):
    """A CSV or XLSX file of commercial data from an ERP, imported in the worker."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", "Products"
        PRICE_LISTS = "price_lists", "Price lists"
        PARTNERS = "partners", "Partners' commercial fields"
        INVOICES = "invoices", "Invoices"
        PAYMENTS = "payments", "Payments"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    file_name = models.CharField(max_length=255)
    content = models.BinaryField()
    lines_file_name = models.CharField(max_length=255, blank=True)
    lines_content = models.BinaryField(null=True, blank=True)
    dry_run = models.BooleanField(default=True)
    all_or_nothing = models.BooleanField(default=False)
    create_partners = models.BooleanField(default=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    rejected_csv = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"


class RequestInvoicing(BackgroundJob):
    """A run of "Invoice closed billable requests" (iDempiere's RequestInvoice)
    in the worker: the period, what it was narrowed to, and what it made."""

    date_from = models.DateField()
    date_to = models.DateField()
    section = models.ForeignKey(
        "cases.Section", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_type = models.ForeignKey(
        "cases.CaseType", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invoice_date = models.DateField(null=True, blank=True)
    invoices = models.ManyToManyField(Invoice, blank=True, related_name="+")
    partners = models.PositiveIntegerField(default=0)
    cases = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Requests closed {self.date_from} – {self.date_to}"
