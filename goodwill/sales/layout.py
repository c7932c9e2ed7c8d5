"""The document layout: the company's name, address, logo and colours that its
quotations and invoices are printed with.

There is one layout, kept in one ``DocumentLayout`` row; ``layout_get`` answers
the defaults until a manager saves it. ``layout_save`` is the only way to change
it: it checks every value (colours as ``#rrggbb``, a logo that really is a PNG,
JPEG or SVG image of at most 1 MB, judged by its content and never by its
name), saves in one transaction and announces ``document_layout.saved``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from goodwill.lib import events
from goodwill.sales.models import DocumentLayout

if TYPE_CHECKING:
    from goodwill.accounts.models import User

MAX_LOGO_BYTES = 1024 * 1024
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/svg+xml": "SVG"}
COLOUR = re.compile(r"#[0-9a-f]{6}")
DEFAULT_PRIMARY = "#1f4e79"
DEFAULT_SECONDARY = "#e8eef5"

# field: (label, maximum length); multi-line fields keep their line breaks.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "company_name": ("company name", 200),
    "vat": ("VAT number", 40),
    "email": ("email address", 254),
    "phone": ("phone number", 40),
    "website": ("website", 200),
}
BLOCK_FIELDS: dict[str, tuple[str, int]] = {
    "address": ("address", 1_000),
    "bank_details": ("bank details", 1_000),
    "footer": ("footer", 1_000),
}
COLOUR_FIELDS = ("primary_colour", "secondary_colour")
LAYOUT_FIELDS = (*TEXT_FIELDS, *BLOCK_FIELDS, *COLOUR_FIELDS)

_SVG_PROLOGUE = re.compile(
    r"\A\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE\s+svg[^>\[]*>\s*)*<svg[\s>/]",
    re.DOTALL | re.IGNORECASE,
)


def layout_get() -> DocumentLayout:
    """The saved layout, or an unsaved one with the defaults."""
    return DocumentLayout.objects.order_by("pk").first() or DocumentLayout()


def colour_clean(value: Any, *, label: str = "colour") -> str:
    """``#RRGGBB`` or ``#rrggbb`` → ``#rrggbb``; anything else is refused."""
    text = str(value or "").strip().lower()
    if not COLOUR.fullmatch(text):
        raise ValidationError(
            f"Enter the {label} as # and six hexadecimal digits, such as #1f4e79."
        )
    return text


def logo_type(content: bytes) -> str:
    """The media type of a logo, judged by its content: ``image/png``,
    ``image/jpeg`` or ``image/svg+xml``. Raises ``ValidationError`` for anything
    else, for an image that does not decode, and for a file over 1 MB."""
    if not content:
        raise ValidationError("The logo file is empty.")
    if len(content) > MAX_LOGO_BYTES:
        raise ValidationError(
            f"The logo is {len(content) / 1024 / 1024:.1f} MB; keep it to 1 MB at most."
        )
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        _raster_check(content, "PNG")
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        _raster_check(content, "JPEG")
        return "image/jpeg"
    if _is_svg(content):
        return "image/svg+xml"
    raise ValidationError("The logo must be a PNG, JPEG or SVG image.")


def _raster_check(content: bytes, kind: str) -> None:
    # Pillow comes with WeasyPrint and needs no system library.
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format != kind:
                raise ValidationError(f"The logo looks like a {kind} image but is not one.")
            image.verify()
    except ValidationError:
        raise
    except Exception:  # Pillow raises many kinds of errors for a broken file
        raise ValidationError(
            f"The logo looks like a {kind} image but cannot be read; it may be damaged."
        ) from None


def _is_svg(content: bytes) -> bool:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if "<!ENTITY" in text.upper():
        raise ValidationError("SVG logos may not declare entities.")
    return bool(_SVG_PROLOGUE.match(text)) and "</svg>" in text[-200:].lower()


def _clean_text(value: Any, *, label: str, max_length: int, block: bool) -> str:
    if block:
        lines = [" ".join(line.split()) for line in str(value or "").strip().splitlines()]
        text = "\n".join(lines).strip()
    else:
        text = " ".join(str(value or "").split())
    if len(text) > max_length:
        raise ValidationError(
            f"Keep the {label} to {max_length:,} characters (it has {len(text):,})."
        )
    return text


def layout_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the layout's fields; every error, next to its field."""
    unknown = set(values) - set(LAYOUT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown layout fields: {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        try:
            if field in TEXT_FIELDS:
                label, length = TEXT_FIELDS[field]
                cleaned[field] = _clean_text(value, label=label, max_length=length, block=False)
                if field == "email" and cleaned[field]:
                    validate_email(cleaned[field])
            elif field in BLOCK_FIELDS:
                label, length = BLOCK_FIELDS[field]
                cleaned[field] = _clean_text(value, label=label, max_length=length, block=True)
            else:
                cleaned[field] = colour_clean(value, label=field.replace("_", " "))
        except ValidationError as exc:
            messages = exc.messages
            if field == "email":
                messages = ["Enter a valid email address, such as sales@example.com."]
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def layout_save(
    *,
    by: User | None,
    values: Mapping[str, Any],
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> DocumentLayout:
    """Change the layout: *values* holds any of ``LAYOUT_FIELDS``; *logo* the
    bytes of a new logo; *remove_logo* drops the current one."""
    cleaned = layout_clean(values)
    new_type = ""
    if logo is not None:
        if remove_logo:
            raise ValidationError({"logo": "Either upload a new logo or remove it, not both."})
        try:
            new_type = logo_type(logo)
        except ValidationError as exc:
            raise ValidationError({"logo": exc.messages}) from None
    layout = DocumentLayout.objects.select_for_update().order_by("pk").first()
    if layout is None:
        layout = DocumentLayout()
    changes = [field for field, value in cleaned.items() if getattr(layout, field) != value]
    for field, value in cleaned.items():
        setattr(layout, field, value)
    if logo is not None:
        layout.logo, layout.logo_type = logo, new_type
        changes.append("logo")
    elif remove_logo and layout.logo:
        layout.logo, layout.logo_type = None, ""
        changes.append("logo")
    layout.updated_at = timezone.now()
    layout.save()
    events.emit(
        "document_layout.saved",
        layout_id=layout.pk,
        changes=changes,
        by_id=by.pk if by is not None else None,
    )
    return layout


def layout_logo(layout: DocumentLayout) -> tuple[bytes, str] | None:
    """The logo's bytes and media type, if it has a logo of a kind we print."""
    if not layout.logo or layout.logo_type not in LOGO_TYPES:
        return None
    return bytes(layout.logo), layout.logo_type


DEMO_LOGO = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="290" height="64" viewBox="0 0 290 64">
  <rect x="0" y="8" width="48" height="48" rx="10" fill="#1f4e79"/>
  <path d="M12 32h24M24 20v24" stroke="#e8eef5" stroke-width="6" stroke-linecap="round"/>
  <text x="60" y="42" font-family="DejaVu Sans, sans-serif" font-size="24" font-weight="bold"
        fill="#1f4e79">Goodwill Demo</text>
</svg>
"""


def demo_layout_present() -> bool:
    return DocumentLayout.objects.exclude(company_name="").exists()


def demo_layout_load() -> DocumentLayout:
    """The demo company's letterhead."""
    return layout_save(
        by=None,
        values={
            "company_name": "Goodwill Demo Trading Ltd",
            "address": "12 Harbour Street\n1010 Portsmouth\nUnited Kingdom",
            "vat": "GB 123 4567 89",
            "email": "sales@goodwill.example",
            "phone": "+44 23 9200 0000",
            "website": "goodwill.example",
            "bank_details": "Example Bank · IBAN GB29 NWBK 6016 1331 9268 19 · BIC NWBKGB2L",
            "footer": "Goodwill Demo Trading Ltd · registered in England no. 01234567",
            "primary_colour": "#1f4e79",
            "secondary_colour": "#e8eef5",
        },
        logo=DEMO_LOGO,
    )
