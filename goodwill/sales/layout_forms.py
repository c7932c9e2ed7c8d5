"""The document layout form: letterhead, bank details, footer, logo and colours.

The form checks the shape of what was typed and reads the uploaded logo; the
rules themselves (what a colour is, which images are logos) live in
``goodwill.sales.layout`` and are applied again by ``layout_save``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from goodwill.sales.layout import (
    LAYOUT_FIELDS,
    MAX_LOGO_BYTES,
    colour_clean,
    logo_type,
)
from goodwill.sales.models import DocumentLayout


class ColourInput(forms.TextInput):
    input_type = "color"


def _block(rows: int, help_text: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=1_000,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class DocumentLayoutForm(forms.Form):
    company_name = forms.CharField(required=False, max_length=200)
    address = _block(4, "As printed, one line per line.")
    vat = forms.CharField(label="VAT number", required=False, max_length=40)
    email = forms.EmailField(required=False)
    phone = forms.CharField(required=False, max_length=40)
    website = forms.CharField(required=False, max_length=200)
    bank_details = _block(3, "Printed under the totals of customer invoices.")
    footer = _block(2, "Printed at the foot of every page.")
    primary_colour = forms.CharField(
        max_length=7,
        widget=ColourInput(),
        help_text="Titles, table headings and rules.",
    )
    secondary_colour = forms.CharField(
        max_length=7,
        widget=ColourInput(),
        help_text="The background of every other line and of the totals.",
    )
    logo = forms.FileField(
        required=False,
        help_text="A PNG, JPEG or SVG image of at most 1 MB.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/svg+xml"}),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    @staticmethod
    def initial_for(layout: DocumentLayout) -> dict[str, Any]:
        return {field: getattr(layout, field) for field in LAYOUT_FIELDS}

    def clean_primary_colour(self) -> str:
        return colour_clean(self.cleaned_data["primary_colour"], label="primary colour")

    def clean_secondary_colour(self) -> str:
        return colour_clean(self.cleaned_data["secondary_colour"], label="secondary colour")

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size is not None and upload.size > MAX_LOGO_BYTES:
            size = upload.size / 1024 / 1024
            raise ValidationError(f"The logo is {size:.1f} MB; keep it to 1 MB at most.")
        content = upload.read(MAX_LOGO_BYTES + 1)
        logo_type(content)  # raises with the reason it is refused
        return bytes(content)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("logo") and cleaned.get("remove_logo"):
            self.add_error("remove_logo", "Either upload a new logo or remove it, not both.")
        return cleaned

    def layout_values(self) -> dict[str, Any]:
        """The values for ``layout_save``."""
        return {field: self.cleaned_data[field] for field in LAYOUT_FIELDS}
