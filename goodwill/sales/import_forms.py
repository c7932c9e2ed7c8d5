"""The upload form of ERP imports: it checks the files are CSV or XLSX and not
too large; ``goodwill.sales.imports`` reads and imports them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from goodwill.sales.imports import is_xlsx
from goodwill.sales.models import SalesImport

DEFAULT_MAX_MB = 50


def max_upload_mb() -> int:
    return int(getattr(settings, "SALES_IMPORT_MAX_MB", DEFAULT_MAX_MB))


def _check_file(upload: UploadedFile | None) -> bytes | None:
    """The file's bytes, or a form error a person can act on."""
    if upload is None:
        return None
    limit = max_upload_mb()
    if upload.size is not None and upload.size > limit * 1024 * 1024:
        raise forms.ValidationError(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is {limit} MB. "
            "Split it, or import it with the goodwill sales_import command."
        )
    content = upload.read()
    if not content:
        raise forms.ValidationError("The file is empty.")
    if is_xlsx(content):
        return content
    head = content[:65536]
    if b"\x00" in head:
        raise forms.ValidationError(
            "This is neither a CSV nor an XLSX file. Save it from your spreadsheet as "
            "“CSV UTF-8” or as an Excel workbook (.xlsx)."
        )
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        if exc.start < len(head) - 4:
            raise forms.ValidationError(
                "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
            ) from None
    return content


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=SalesImport.Kind.choices)
    file = forms.FileField(
        label="File", help_text="CSV (comma or semicolon, UTF-8) or XLSX (the first sheet)."
    )
    lines_file = forms.FileField(
        label="Invoice lines file",
        required=False,
        help_text="Invoices only, when headers and lines come in two files: the lines, "
        "joined to the headers by number and type.",
    )
    dry_run = forms.BooleanField(
        label="Dry run: show what would change, save nothing", required=False, initial=True
    )
    all_or_nothing = forms.BooleanField(
        label="All or nothing: save nothing if any row is rejected", required=False
    )
    create_partners = forms.BooleanField(
        label="Create the partners that match no one", required=False
    )

    def clean_file(self) -> bytes | None:
        return _check_file(self.cleaned_data.get("file"))

    def clean_lines_file(self) -> bytes | None:
        return _check_file(self.cleaned_data.get("lines_file"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("lines_file") and cleaned.get("kind") != SalesImport.Kind.INVOICES:
            self.add_error("lines_file", "Only invoices can come with a separate lines file.")
        return cleaned

    def file_names(self) -> tuple[str, str]:
        files = self.files
        main = files.get("file")
        lines = files.get("lines_file")
        return (getattr(main, "name", "") or "", getattr(lines, "name", "") or "")
