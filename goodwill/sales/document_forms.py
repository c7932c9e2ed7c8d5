"""Forms of the document pages: they parse and check what a person typed; the
services in ``orders``, ``invoicing`` and ``payments`` decide and save."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from goodwill.campaigns.models import Campaign
from goodwill.lib.ids import is_valid_id
from goodwill.lib.money import CURRENCY_CHOICES
from goodwill.partners.forms import IdChoiceField, PartnerChoiceField
from goodwill.sales.forms import ProductChoiceWidget
from goodwill.sales.invoicing import LineInput
from goodwill.sales.models import (
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Payment,
    PaymentTerm,
    Product,
)

BLANK = [("", "—")]
MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 4}
PERCENT: dict[str, Any] = {"max_digits": 7, "decimal_places": 4}
EXTRA_LINES = 3


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _plain(value: Decimal | None) -> str:
    """A stored decimal as a person would type it: 10, not 10.0000."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------
# Lists


class DocumentFilterForm(forms.Form):
    """Filters of the order and invoice lists; unknown values are ignored."""

    q = forms.CharField(required=False, max_length=200)
    kind = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False)
    partner = forms.CharField(required=False, max_length=20)

    def __init__(self, *args: Any, kinds: Any, states: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, blank, choices in (("kind", "Any kind", kinds), ("state", "Any state", states)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
            field.choices = [("", blank), *choices]

    def clean_partner(self) -> str:
        value = self.cleaned_data["partner"].strip()
        return value if is_valid_id(value) else ""

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters."""
        if self.is_valid():
            data = self.cleaned_data
        else:
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        found = {k: str(v).strip() for k, v in data.items() if v}
        if "q" in found:
            found["q"] = " ".join(found["q"].split())
        return {k: v for k, v in found.items() if v}


# --------------------------------------------------------------------------
# Lines


class CampaignField(IdChoiceField):
    """A campaign to credit the document to; the active ones first."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "The campaign that brought it.")
        super().__init__(queryset=Campaign.objects.order_by("-active", "name"), **kwargs)


class ProductField(IdChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Product.objects.all(), widget=ProductChoiceWidget(), **kwargs)


class LineForm(forms.Form):
    """One line; blank price means the price list's, blank tax the product's."""

    product = ProductField(required=False)
    description = forms.CharField(required=False, max_length=500)
    quantity = forms.DecimalField(
        required=False,
        min_value=Decimal("0.0001"),
        initial=1,
        error_messages={"min_value": "The quantity must be more than zero."},
        **MONEY,
    )
    unit_price = forms.DecimalField(required=False, min_value=0, label="Unit price", **MONEY)
    discount_percent = forms.DecimalField(
        required=False, min_value=0, max_value=100, label="Discount (%)", **PERCENT
    )
    tax_rate = forms.DecimalField(
        required=False, min_value=0, max_value=100, label="Tax (%)", **PERCENT
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            # The lines table names its columns once; each input still needs a name.
            field.widget.attrs.setdefault("aria-label", str(field.label or name.capitalize()))

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("product") and not (data.get("description") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank():
            return data
        if data.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", "Enter a quantity.")
        if (
            data.get("unit_price") is None
            and not data.get("product")
            and "unit_price" not in self.errors
        ):
            self.add_error("unit_price", "Give a price or pick a product.")
        return data

    def line(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            description=(data.get("description") or "").strip(),
            product=data.get("product"),
            quantity=data["quantity"],
            unit_price=data.get("unit_price"),
            discount_percent=data.get("discount_percent") or Decimal(0),
            tax_rate=data.get("tax_rate"),
        )


class BaseLineFormSet(BaseFormSet):
    def filled(self) -> list[LineForm]:
        """The forms that hold a line, in order (blank rows are skipped)."""
        return [f for f in self.forms if isinstance(f, LineForm) and not f.is_blank()]

    def lines(self) -> list[LineInput]:
        return [form.line() for form in self.filled()]

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.filled():
            raise ValidationError("Add at least one line: pick a product or describe it.")

    def apply_service_error(self, message: str) -> bool:
        """Put the service's "Line 2: …" next to that line; False if it names none."""
        match = re.match(r"Line (\d+): (.*)", message)
        filled = self.filled()
        if not match or not 1 <= int(match.group(1)) <= len(filled):
            return False
        form = filled[int(match.group(1)) - 1]
        text = match.group(2)
        field = next(
            (
                name
                for word, name in (
                    ("quantity", "quantity"),
                    ("discount", "discount_percent"),
                    ("tax", "tax_rate"),
                    ("price", "unit_price"),
                    ("describe", "description"),
                )
                if word in text
            ),
            None,
        )
        form.add_error(field, text[:1].upper() + text[1:])
        return True


LineFormSet = formset_factory(
    LineForm, formset=BaseLineFormSet, extra=EXTRA_LINES, max_num=1000, validate_max=True
)


def line_initial(lines: list[OrderLine] | list[InvoiceLine]) -> list[dict[str, Any]]:
    return [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": _plain(line.quantity),
            "unit_price": _plain(line.unit_price),
            "discount_percent": _plain(line.discount_percent),
            "tax_rate": _plain(line.tax_rate),
        }
        for line in lines
    ]


def line_formset(data: Any = None, *, lines: Any = None) -> Any:
    formset = LineFormSet(data, prefix="lines", initial=line_initial(lines) if lines else None)
    return formset


# --------------------------------------------------------------------------
# Orders


class PaymentTermField(IdChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            queryset=PaymentTerm.objects.filter(active=True), empty_label="—", **kwargs
        )


class OrderForm(forms.Form):
    kind = forms.ChoiceField(choices=Order.Kind.choices, initial=Order.Kind.SALE)
    partner = PartnerChoiceField()
    order_date = forms.DateField(label="Date", widget=_date_widget())
    valid_until = forms.DateField(required=False, widget=_date_widget())
    currency = forms.ChoiceField(
        choices=[("", "From the partner's terms"), *CURRENCY_CHOICES], required=False
    )
    payment_term = PaymentTermField(required=False, help_text="Blank: the partner's.")
    reference = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    campaign = CampaignField()

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order_date"].initial = timezone.localdate()
        if not creating:
            del self.fields["kind"]
            currency = self.fields["currency"]
            assert isinstance(currency, forms.ChoiceField)  # noqa: S101 - declared above
            currency.choices = CURRENCY_CHOICES
            currency.required = True
            self.fields["payment_term"].help_text = ""

    @staticmethod
    def initial_for(order: Order) -> dict[str, Any]:
        return {
            "partner": order.partner_id,
            "order_date": order.order_date,
            "valid_until": order.valid_until,
            "currency": order.currency,
            "payment_term": order.payment_term_id,
            "reference": order.reference,
            "notes": order.notes,
            "campaign": order.campaign_id,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, until = data.get("order_date"), data.get("valid_until")
        if day and until and until < day:
            self.add_error("valid_until", "A quotation cannot expire before its date.")
        return data


# --------------------------------------------------------------------------
# Invoices


class InvoiceForm(forms.Form):
    """The header of a draft; kind and partner are chosen once, at creation."""

    kind = forms.ChoiceField(choices=Invoice.Kind.choices, initial=Invoice.Kind.CUSTOMER_INVOICE)
    partner = PartnerChoiceField()
    currency = forms.ChoiceField(
        choices=[("", "The partner's currency"), *CURRENCY_CHOICES], required=False
    )
    invoice_date = forms.DateField(
        required=False, widget=_date_widget(), help_text="Blank: the day it is posted."
    )
    payment_term = PaymentTermField(required=False, help_text="Blank: the partner's.")
    reference = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    campaign = CampaignField()

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["kind"]
            currency = self.fields["currency"]
            assert isinstance(currency, forms.ChoiceField)  # noqa: S101 - declared above
            currency.choices = CURRENCY_CHOICES
            currency.required = True

    @staticmethod
    def initial_for(invoice: Invoice) -> dict[str, Any]:
        return {
            "partner": invoice.partner_id,
            "currency": invoice.currency,
            "invoice_date": invoice.invoice_date,
            "payment_term": invoice.payment_term_id,
            "reference": invoice.reference,
            "notes": invoice.notes,
            "campaign": invoice.campaign_id,
        }


class CreditApplyForm(forms.Form):
    """Which open invoice a credit note settles, and how much (blank: all it can)."""

    invoice = forms.TypedChoiceField(coerce=int, label="Invoice")
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        error_messages={"min_value": "The amount must be more than zero."},
        help_text="Blank: as much as both have open.",
    )

    def __init__(self, *args: Any, targets: list[Invoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = {t.pk: t for t in targets}
        field = self.fields["invoice"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared above
        field.choices = [
            (t.pk, f"{t} · due {t.due_date:%Y-%m-%d} · {_plain(t.amount_residual)} open")  # type: ignore[arg-type]
            for t in targets
        ]

    def clean_invoice(self) -> Invoice:
        return self.targets[self.cleaned_data["invoice"]]


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        min_value=Decimal("0.0001"),
        error_messages={"min_value": "The amount must be more than zero."},
        **MONEY,
    )
    payment_date = forms.DateField(label="Date", widget=_date_widget())
    method = forms.ChoiceField(choices=Payment.Method.choices, initial=Payment.Method.BANK)
    reference = forms.CharField(max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payment_date"].initial = timezone.localdate()


def plain_amount(value: Decimal) -> str:
    return _plain(value)
