"""Importing commercial data from an ERP: CSV or XLSX files of products, price
lists, partners' commercial terms, invoices and payments.

An import runs in the worker (``sales_import_run``, queued by
``sales_import_request``) or from the command line (``goodwill sales_import``).
Every row ends as *created*, *updated*, *unchanged* or *rejected* with a
reason. Rows are matched on a natural key, so importing the same file twice
changes nothing the second time:

- products: the code;
- price lists: the list's name, the version's start date, and the rule's
  product (or category) and minimum quantity;
- partners' terms: the partner (below);
- invoices: the document type and number;
- payments: the reference, partner, date and amount.

Partners are matched by ERP id (``PartnerTerms.external_id``), then VAT number,
then email, then name (compared as ``name_key`` does: "ACME Ltd." is "Acme").
A partner that matches nothing is reported, or created when asked.

Rows are handled in batches of ``BATCH_ROWS``: each batch reads what exists
with one query per table, compares values, and writes with ``bulk_create`` and
``bulk_update`` only what changed. A dry run runs the same code in a
transaction that is rolled back at the end, so its counts are exact; with
"all or nothing" the import is one transaction, rolled back if any row is
rejected.

Accepted columns
================

Headers are matched without regard to case, spaces or punctuation
("Unit Price", "unit_price" and "unit-price" are the same); each column has a
name and a few aliases (``COLUMNS``). Unknown columns are ignored and listed in
the report. Numbers may use a decimal comma ("12,50"); dates are ISO
(2026-03-31) or day first (31/03/2026, 31.03.2026, 31-03-2026).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import functools
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from goodwill.lib import events
from goodwill.lib.jobs import job_claim, job_finish, job_progress
from goodwill.lib.money import CURRENCIES, money_format
from goodwill.lib.spreadsheets import cell_text
from goodwill.lib.text import fold, name_key
from goodwill.partners.models import Partner, PartnerEmail, TimelineEntry
from goodwill.partners.services import EmailInput, partner_create, timeline_build
from goodwill.sales import services
from goodwill.sales.invoicing import line_amounts
from goodwill.sales.models import (
    Invoice,
    InvoiceLine,
    PartnerTerms,
    Payment,
    PaymentAllocation,
    PaymentTerm,
    PriceList,
    PriceListVersion,
    PriceRule,
    Product,
    SalesImport,
)

if TYPE_CHECKING:
    from goodwill.accounts.models import User

BATCH_ROWS = 2000
MAX_MESSAGES = 50
MAX_UNMATCHED = 200
MAX_AMOUNT = services.MAX_AMOUNT

Kind = SalesImport.Kind


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not CSV/XLSX, missing columns…)."""


# --------------------------------------------------------------------------
# Columns


_PARTNER_KEYS: dict[str, tuple[str, ...]] = {
    "partner_external_id": (
        "partner_external_id",
        "partner_erp_id",
        "partner_ref",
        "partner_code",
        "customer_code",
        "customer_id",
        "supplier_code",
        "supplier_id",
    ),
    "partner_vat": ("partner_vat", "vat", "vat_number", "tax_id"),
    "partner_email": ("partner_email", "email"),
    "partner_name": (
        "partner_name",
        "partner",
        "customer",
        "customer_name",
        "supplier",
        "supplier_name",
    ),
}
_DOCUMENT_KEY: dict[str, tuple[str, ...]] = {
    "number": ("number", "document_number", "invoice_number", "invoice_no", "doc_number"),
    "type": ("type", "kind", "document_type", "move_type"),
}
_INVOICE_HEADER: dict[str, tuple[str, ...]] = {
    **_DOCUMENT_KEY,
    **_PARTNER_KEYS,
    "date": ("date", "invoice_date", "document_date"),
    "due_date": ("due_date", "date_due", "invoice_date_due"),
    "currency": ("currency",),
    "state": ("state", "status"),
    "reference": ("reference", "ref", "customer_reference", "vendor_reference"),
    "total": ("total", "amount_total", "total_amount"),
    "amount_paid": ("amount_paid", "paid"),
}
_INVOICE_LINE: dict[str, tuple[str, ...]] = {
    **_DOCUMENT_KEY,
    "line_description": ("line_description", "description", "label", "line_name"),
    "product_code": ("product_code", "product", "sku", "item_code"),
    "quantity": ("quantity", "qty"),
    "unit_price": ("unit_price", "price", "price_unit"),
    "discount": ("discount", "discount_percent"),
    "tax_rate": ("tax_rate", "tax", "vat_rate", "tax_percent"),
    "sequence": ("sequence", "line_number", "line_no"),
}

# kind -> canonical column -> accepted header names (after normalising).
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    Kind.PRODUCTS: {
        "code": ("code", "product_code", "sku", "item_code", "default_code"),
        "name": ("name", "product_name", "item_name"),
        "kind": ("kind", "type", "product_type"),
        "category": ("category", "category_path", "product_category"),
        "unit": ("unit", "uom", "unit_of_measure"),
        "list_price": ("list_price", "price", "sale_price", "sales_price"),
        "cost": ("cost", "cost_price", "standard_price", "purchase_price"),
        "tax_rate": ("tax_rate", "tax", "vat_rate", "tax_percent"),
        "active": ("active",),
        "description": ("description",),
    },
    Kind.PRICE_LISTS: {
        "price_list": ("price_list", "pricelist", "price_list_name", "name"),
        "currency": ("currency",),
        "version": ("version", "version_name"),
        "valid_from": ("valid_from", "start_date", "date_start"),
        "valid_to": ("valid_to", "end_date", "date_end"),
        "sequence": ("sequence", "seq"),
        "product_code": ("product_code", "code", "sku", "product"),
        "category": ("category", "product_category"),
        "min_quantity": ("min_quantity", "minimum_quantity", "min_qty"),
        "base": ("base", "based_on"),
        "base_price_list": ("base_price_list", "other_price_list"),
        "fixed_price": ("fixed_price", "price", "unit_price"),
        "discount": ("discount", "discount_percent"),
        "surcharge": ("surcharge",),
    },
    Kind.PARTNERS: {
        "partner_external_id": (*_PARTNER_KEYS["partner_external_id"], "external_id", "erp_id"),
        "partner_vat": _PARTNER_KEYS["partner_vat"],
        "partner_email": _PARTNER_KEYS["partner_email"],
        "partner_name": (*_PARTNER_KEYS["partner_name"], "name", "company"),
        "price_list": ("price_list", "pricelist", "customer_price_list"),
        "supplier_price_list": ("supplier_price_list", "purchase_price_list"),
        "payment_term": ("payment_term", "payment_terms"),
        "credit_limit": ("credit_limit",),
    },
    Kind.INVOICES: {**_INVOICE_HEADER, **_INVOICE_LINE},
    Kind.PAYMENTS: {
        **_PARTNER_KEYS,
        "reference": ("reference", "ref", "payment_reference", "memo"),
        "date": ("date", "payment_date"),
        "amount": ("amount",),
        "currency": ("currency",),
        "direction": ("direction", "payment_type"),
        "method": ("method", "payment_method"),
        "invoices": ("invoices", "invoice", "invoice_numbers", "invoice_number"),
    },
}
INVOICE_HEADER_COLUMNS = _INVOICE_HEADER
INVOICE_LINE_COLUMNS = _INVOICE_LINE

# An example file per kind: its header and one or two rows.
TEMPLATES: dict[str, list[list[str]]] = {
    Kind.PRODUCTS: [
        ["code", "name", "kind", "category", "unit", "list_price", "cost", "tax_rate", "active"],
        ["GR-200", "Gripper 200", "product", "Machines / Grippers", "unit", "1250.00", "800", "20",
         "yes"],
        ["SRV-H", "Service hour", "service", "Services", "hour", "95", "0", "20", "yes"],
    ],
    Kind.PRICE_LISTS: [
        ["price_list", "currency", "version", "valid_from", "valid_to", "product_code", "category",
         "min_quantity", "base", "fixed_price", "discount", "surcharge"],
        ["Dealers", "EUR", "2026", "2026-01-01", "2026-12-31", "GR-200", "", "0", "fixed", "1100",
         "", ""],
        ["Dealers", "EUR", "2026", "2026-01-01", "2026-12-31", "", "Services", "0", "list", "",
         "10", ""],
    ],
    Kind.PARTNERS: [
        ["partner_external_id", "partner_vat", "partner_email", "partner_name", "price_list",
         "payment_term", "credit_limit"],
        ["C-1001", "DE123456789", "billing@acme.example", "Acme GmbH", "Dealers", "Net 30",
         "50000"],
    ],
    Kind.INVOICES: [
        ["number", "type", "partner_external_id", "partner_vat", "partner_name", "date", "due_date",
         "currency", "state", "total", "line_description", "product_code", "quantity", "unit_price",
         "discount", "tax_rate"],
        ["F2026-0001", "invoice", "C-1001", "", "Acme GmbH", "2026-03-31", "2026-04-30", "EUR",
         "posted", "1590.00", "Gripper 200", "GR-200", "1", "1250.00", "0", "20"],
        ["F2026-0001", "invoice", "C-1001", "", "Acme GmbH", "2026-03-31", "2026-04-30", "EUR",
         "posted", "1590.00", "Installation", "SRV-H", "1", "75.00", "0", "20"],
    ],
    Kind.PAYMENTS: [
        ["reference", "partner_external_id", "partner_name", "date", "amount", "currency",
         "direction", "method", "invoices"],
        ["BANK-7781", "C-1001", "Acme GmbH", "2026-04-28", "1590.00", "EUR", "in", "bank",
         "F2026-0001"],
    ],
}  # fmt: skip

_INVOICE_KINDS = {
    "invoice": Invoice.Kind.CUSTOMER_INVOICE,
    "customer_invoice": Invoice.Kind.CUSTOMER_INVOICE,
    "out_invoice": Invoice.Kind.CUSTOMER_INVOICE,
    "credit_note": Invoice.Kind.CUSTOMER_CREDIT,
    "customer_credit_note": Invoice.Kind.CUSTOMER_CREDIT,
    "out_refund": Invoice.Kind.CUSTOMER_CREDIT,
    "bill": Invoice.Kind.VENDOR_BILL,
    "vendor_bill": Invoice.Kind.VENDOR_BILL,
    "supplier_invoice": Invoice.Kind.VENDOR_BILL,
    "in_invoice": Invoice.Kind.VENDOR_BILL,
    "refund": Invoice.Kind.VENDOR_REFUND,
    "vendor_refund": Invoice.Kind.VENDOR_REFUND,
    "vendor_credit_note": Invoice.Kind.VENDOR_REFUND,
    "in_refund": Invoice.Kind.VENDOR_REFUND,
}
_INVOICE_STATES = {
    "draft": Invoice.State.DRAFT,
    "posted": Invoice.State.POSTED,
    "open": Invoice.State.POSTED,
    "partial": Invoice.State.PARTIAL,
    "partially_paid": Invoice.State.PARTIAL,
    "paid": Invoice.State.PAID,
    "in_payment": Invoice.State.PAID,
    "cancelled": Invoice.State.CANCELLED,
    "canceled": Invoice.State.CANCELLED,
    "cancel": Invoice.State.CANCELLED,
}
_PRODUCT_KINDS = {
    "product": Product.Kind.PRODUCT,
    "goods": Product.Kind.PRODUCT,
    "consu": Product.Kind.PRODUCT,
    "consumable": Product.Kind.PRODUCT,
    "storable": Product.Kind.PRODUCT,
    "service": Product.Kind.SERVICE,
}
_UNITS = {
    **{value: value for value in Product.Unit.values},
    **dict.fromkeys(("units", "pc", "pcs", "piece", "pieces", "each", "ea"), Product.Unit.UNIT),
    **dict.fromkeys(("h", "hr", "hrs", "hours"), Product.Unit.HOUR),
    **dict.fromkeys(("d", "days"), Product.Unit.DAY),
    **dict.fromkeys(("months",), Product.Unit.MONTH),
    **dict.fromkeys(("kgs", "kilogram", "kilograms"), Product.Unit.KG),
    **dict.fromkeys(("metre", "meter", "metres", "meters"), Product.Unit.M),
    **dict.fromkeys(("litre", "liter", "litres", "liters"), Product.Unit.L),
    **dict.fromkeys(("packs", "box"), Product.Unit.PACK),
}
_DIRECTIONS = {
    **dict.fromkeys(
        ("in", "inbound", "received", "receipt", "customer"), Payment.Direction.INBOUND
    ),
    **dict.fromkeys(("out", "outbound", "paid", "sent", "supplier"), Payment.Direction.OUTBOUND),
}
_METHODS = {
    **{value: value for value in Payment.Method.values},
    **dict.fromkeys(("transfer", "bank_transfer", "wire", "sepa"), Payment.Method.BANK),
    **dict.fromkeys(("credit_card", "debit_card"), Payment.Method.CARD),
    "check": Payment.Method.CHEQUE,
}
_BASES = {
    "list": PriceRule.Base.LIST_PRICE,
    "list_price": PriceRule.Base.LIST_PRICE,
    "pricelist": PriceRule.Base.OTHER_LIST,
    "price_list": PriceRule.Base.OTHER_LIST,
    "other_list": PriceRule.Base.OTHER_LIST,
    "fixed": PriceRule.Base.FIXED,
    "fixed_price": PriceRule.Base.FIXED,
}
_TRUE = {"1", "true", "yes", "y", "x", "active"}
_FALSE = {"0", "false", "no", "n", "inactive"}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,14}(\.[0-9]{1,4})?")


@functools.lru_cache(maxsize=4096)
def header_key(text: str) -> str:
    """ "Unit Price (EUR)" -> "unit_price_eur": how headers and codes are compared."""
    return _NOT_WORD.sub("_", fold(str(text))).strip("_")


# --------------------------------------------------------------------------
# Reading files


@dataclass(slots=True)
class Row:
    """One row of a file: its line number, its values by canonical column, and
    its cells as read (for the rejected-rows file)."""

    number: int
    values: dict[str, str]
    cells: list[str]
    source: str = ""


@dataclass
class Table:
    file_name: str
    headers: list[str]
    columns: set[str]
    ignored: list[str]
    rows: list[Row]


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(f"This is not an XLSX file Goodwill can read ({exc}).") from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError("The workbook has no sheet.")
        return [[_xlsx_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _read_csv(content: bytes) -> list[list[str]]:
    if b"\x00" in content[:4096]:
        raise ImportFileError(
            "This is not a CSV file (it holds binary data). Upload a CSV or an XLSX file."
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 text (byte {exc.start + 1} is not valid): save it as "
            "“CSV UTF-8” and upload it again."
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    try:
        return [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file cannot be read: {exc}.") from None


def is_xlsx(content: bytes) -> bool:
    return content[:4] == b"PK\x03\x04"


def read_table(
    content: bytes,
    *,
    file_name: str,
    columns: dict[str, tuple[str, ...]],
    required: Sequence[Sequence[str]] = (),
    source: str = "",
) -> Table:
    """The rows of a CSV (UTF-8, with or without BOM; comma, semicolon or tab
    detected from the header) or XLSX file (its first sheet), keyed by the
    canonical names of *columns*. *required* lists groups of columns of which
    at least one must be present."""
    grid = _read_xlsx(content) if is_xlsx(content) else _read_csv(content)
    while grid and not any(grid[0]):
        grid.pop(0)
    if not grid:
        raise ImportFileError("The file is empty: it needs a header row and at least one row.")
    headers = grid[0]
    aliases = {alias: name for name, names in columns.items() for alias in names}
    index: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    ignored: list[str] = []
    for position, header in enumerate(headers):
        canonical = aliases.get(header_key(header))
        if canonical is None:
            if header:
                ignored.append(header)
            continue
        if canonical in seen:
            raise ImportFileError(
                f"The columns “{seen[canonical]}” and “{header}” both give the "
                f"{canonical.replace('_', ' ')}; keep one."
            )
        seen[canonical] = header
        index.append((position, canonical))
    missing = [" or ".join(group) for group in required if not any(name in seen for name in group)]
    if missing:
        raise ImportFileError(
            f"The file has no {' and no '.join(missing)} column. Its columns are: "
            f"{', '.join(h for h in headers if h) or 'none'}."
        )
    rows = []
    for number, cells in enumerate(grid[1:], start=2):
        if not any(cells):
            continue
        values = {name: cells[i].strip() if i < len(cells) else "" for i, name in index}
        rows.append(Row(number=number, values=values, cells=cells, source=source))
    if not rows:
        raise ImportFileError("The file has a header row but no rows to import.")
    return Table(
        file_name=file_name, headers=headers, columns=set(seen), ignored=ignored, rows=rows
    )


# --------------------------------------------------------------------------
# Cleaning one value


class RowError(Exception):
    """A row cannot be imported; the message says why."""


def _number_text(value: str) -> str:
    text = value.replace("\u00a0", "").replace(" ", "").replace("'", "").removesuffix("%")
    if "," in text and "." in text:
        # The later separator is the decimal one: 1.234,56 or 1,234.56.
        thousands = "." if text.rfind(",") > text.rfind(".") else ","
        text = text.replace(thousands, "").replace(",", ".")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    elif "," in text:
        text = text.replace(",", "")
    return text


def _decimal(
    values: dict[str, str],
    column: str,
    *,
    minimum: Decimal | None = -MAX_AMOUNT,
    maximum: Decimal = MAX_AMOUNT,
    required: bool = False,
) -> Decimal | None:
    raw = values.get(column, "")
    if raw == "":
        if required:
            raise RowError(f"{column}: enter a number.")
        return None
    if _PLAIN_NUMBER.fullmatch(raw):
        # The common case, checked as services._decimal would, without its detours.
        number = Decimal(raw)
        exponent = number.as_tuple().exponent
        if (
            (minimum is None or number >= minimum)
            and number <= maximum
            and isinstance(exponent, int)
            and exponent >= -4
        ):
            return number
    if maximum != MAX_AMOUNT:
        bounds = f" from {minimum:,} to {maximum:,}"
    elif minimum is not None and minimum >= 0:
        bounds = f" of {minimum:,} or more"
    else:
        bounds = ""
    try:
        return services._decimal(
            _number_text(raw),
            minimum=minimum,
            maximum=maximum,
            message=f"{column}: “{raw}” is not a number{bounds}.",
        )
    except ValidationError as exc:
        message = exc.messages[0]
        raise RowError(message if message.startswith(column) else f"{column}: {message}") from None


def _date(values: dict[str, str], column: str, *, required: bool = False) -> datetime.date | None:
    raw = values.get(column, "")
    if raw == "":
        if required:
            raise RowError(f"{column}: enter the date.")
        return None
    text = raw[:10] if len(raw) > 10 and raw[10] in " T" else raw
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date only
        except ValueError:
            continue
    raise RowError(f"{column}: “{raw}” is not a date (use 2026-03-31 or 31/03/2026).")


def _text(values: dict[str, str], column: str, *, max_length: int, required: bool = False) -> str:
    text = " ".join(values.get(column, "").split())
    if required and not text:
        raise RowError(f"{column}: enter a value.")
    if len(text) > max_length:
        raise RowError(f"{column}: keep it to {max_length} characters (it has {len(text)}).")
    return text


def _choice(values: dict[str, str], column: str, choices: Mapping[str, str], what: str) -> str:
    raw = values.get(column, "")
    found = choices.get(header_key(raw))
    if found is None:
        accepted = ", ".join(sorted(set(choices)))
        raise RowError(f"{column}: “{raw}” is not a {what} (use one of: {accepted}).")
    return found


def _currency(values: dict[str, str], column: str = "currency") -> str:
    raw = values.get(column, "")
    code = raw.strip().upper()
    if code and code not in CURRENCIES:
        raise RowError(f"{column}: “{raw}” is not a currency Goodwill knows (use ISO codes: EUR).")
    return code


def _bool(values: dict[str, str], column: str) -> bool | None:
    raw = values.get(column, "").strip().lower()
    if raw == "":
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RowError(f"{column}: “{raw}” is not yes or no.")


def _sequence(values: dict[str, str]) -> int | None:
    """The row's ``sequence``, a whole number; None when it is not given."""
    if not values.get("sequence"):
        return None
    sequence = _decimal(values, "sequence", minimum=Decimal(0), maximum=Decimal(2_000_000_000))
    if sequence is None or sequence != sequence.to_integral_value():
        raise RowError("sequence: enter a whole number.")
    return int(sequence)


def _category_parts(path: str) -> list[str]:
    """ "Machines /  Grippers" -> ["Machines", "Grippers"]."""
    return [" ".join(part.split()) for part in path.split("/") if part.strip()]


def _product_code(raw: str, column: str = "code") -> str:
    try:
        return services._clean_product_code(raw)
    except ValidationError as exc:
        raise RowError(f"{column}: {exc.messages[0]}") from None


# --------------------------------------------------------------------------
# Outcomes and the report


CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"


@dataclass
class ImportResult:
    kind: str
    dry_run: bool = False
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((CREATED, UPDATED, UNCHANGED, REJECTED), 0)
    )
    documents: dict[str, int] = field(default_factory=dict)
    # (sort key, text): messages are reported in the order of the file's rows.
    notes: list[tuple[tuple[str, int], str]] = field(default_factory=list)
    message_total: int = 0
    unmatched: dict[str, str] = field(default_factory=dict)
    partners_created: int = 0
    rejected_rows: list[tuple[Row, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    rolled_back: bool = False

    def add(self, row: Row, outcome: str, error: str = "", *, note: bool = True) -> None:
        self.counts[outcome] += 1
        if outcome == REJECTED:
            self.rejected_rows.append((row, error))
            if note:
                self.note(f"{row_label(row)}: {error}", row=row)

    def note(self, message: str, *, row: Row | None = None) -> None:
        self.message_total += 1
        if len(self.notes) < MAX_MESSAGES * 20:
            key = (row.source, row.number) if row else ("~", self.message_total)
            self.notes.append((key, message))

    @property
    def messages(self) -> list[str]:
        return [text for _, text in sorted(self.notes)[:MAX_MESSAGES]]

    def as_report(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "counts": dict(self.counts),
            "rows": self.rows,
            "messages": self.messages,
            "messages_total": self.message_total,
            "unmatched_partners": list(self.unmatched.values())[:MAX_UNMATCHED],
            "unmatched_total": len(self.unmatched),
            "partners_created": self.partners_created,
            "ignored_columns": self.ignored_columns,
            "dry_run": self.dry_run,
            "rolled_back": self.rolled_back,
        }
        if self.documents:
            report["documents"] = dict(self.documents)
        return report


def row_label(row: Row) -> str:
    return f"{row.source} row {row.number}" if row.source else f"Row {row.number}"


def _safe_cell(value: str) -> str:
    """Cells a spreadsheet would run as formulas are neutralised; numbers stay numbers."""
    try:
        Decimal(value)
    except ArithmeticError:
        return str(cell_text(value))
    return value


def rejected_csv(tables: Sequence[Table], rejected: Sequence[tuple[Row, str]]) -> str:
    """The rejected rows with their original columns, then ``row`` and ``error``
    (and ``file`` when two files were imported)."""
    if not rejected:
        return ""
    out = io.StringIO()
    writer = csv.writer(out)
    two = len(tables) > 1
    headers: list[str] = []
    for table in tables:
        headers.extend(h for h in table.headers if h not in headers)
    positions = [
        {h: i for i, h in enumerate(table.headers) if h} for table in tables
    ]  # header -> cell index, per file
    writer.writerow([*headers, *(["file"] if two else []), "row", "error"])
    by_source = {table_source(i): i for i in range(len(tables))}
    for row, error in sorted(rejected, key=lambda item: (item[0].source, item[0].number)):
        table_index = by_source.get(row.source, 0)
        where = positions[table_index]
        cells = [
            _safe_cell(row.cells[where[h]]) if h in where and where[h] < len(row.cells) else ""
            for h in headers
        ]
        extra = [tables[table_index].file_name] if two else []
        writer.writerow([*cells, *extra, row.number, _safe_cell(error)])
    return out.getvalue()


def table_source(index: int) -> str:
    return "" if index == 0 else "Lines file"


# --------------------------------------------------------------------------
# Partners


@dataclass(frozen=True)
class PartnerKey:
    external_id: str
    vat: str
    email: str
    name: str

    @classmethod
    def of(cls, values: dict[str, str]) -> PartnerKey:
        return cls(
            external_id=values.get("partner_external_id", "").strip()[:100],
            vat="".join(values.get("partner_vat", "").split()).upper(),
            email=values.get("partner_email", "").strip().lower(),
            name=" ".join(values.get("partner_name", "").split()),
        )

    @property
    def empty(self) -> bool:
        return not (self.external_id or self.vat or self.email or self.name)

    @property
    def name_key(self) -> str:
        return name_key(self.name) if self.name else ""

    def label(self) -> str:
        parts = [
            f"ERP id {self.external_id}" if self.external_id else "",
            f"VAT {self.vat}" if self.vat else "",
            self.email,
            self.name,
        ]
        return ", ".join(p for p in parts if p)

    def lookups(self) -> tuple[tuple[str, str], ...]:
        """(table, value) for each key, in the order partners are matched."""
        return (
            ("ext", self.external_id),
            ("vat", self.vat),
            ("email", self.email),
            ("name", self.name_key),
        )

    def identity(self) -> tuple[str, str]:
        """The key partners created from the file are told apart by."""
        for kind, value in self.lookups():
            if value:
                return kind, value
        return "", ""


# table -> (model, column, the path to the partner: "" when the model is Partner).
_PARTNER_LOOKUPS: dict[str, tuple[Any, str, str]] = {
    "ext": (PartnerTerms, "external_id", "partner"),
    "vat": (Partner, "vat", ""),
    "email": (PartnerEmail, "email", "partner"),
    "name": (Partner, "name_key", ""),
}
_KEY_LABELS = {"ext": "ERP id", "vat": "VAT number", "email": "email", "name": "name"}


class PartnerMatcher:
    """Finds partners by ERP id, VAT, email or name, with one query per key type
    per batch (keys already looked up are remembered for later batches)."""

    def __init__(self, *, by: User | None, create: bool, result: ImportResult) -> None:
        self.by = by
        self.create = create
        self.result = result
        self.tables: dict[str, dict[str, list[int]]] = {
            "ext": {},
            "vat": {},
            "email": {},
            "name": {},
        }
        self.looked_up: dict[str, set[str]] = {name: set() for name in self.tables}
        self.currency: dict[int, str] = {}
        self.created: dict[tuple[str, str], int] = {}
        self.created_ids: set[int] = set()

    def _remember(self, table: str, rows: Iterable[tuple[str, int, str]]) -> None:
        found = self.tables[table]
        for value, partner_id, currency in rows:
            if partner_id not in found.setdefault(value, []):
                found[value].append(partner_id)
            self.currency[partner_id] = currency

    def load(self, keys: Iterable[PartnerKey]) -> None:
        wanted: dict[str, set[str]] = {name: set() for name in self.tables}
        for key in keys:
            for table, value in key.lookups():
                if value and value not in self.looked_up[table]:
                    wanted[table].add(value)
        for table, values in wanted.items():
            if values:
                self._remember(table, self._query(table, values))
            self.looked_up[table] |= values

    @staticmethod
    def _query(table: str, values: set[str]) -> Iterable[tuple[str, int, str]]:
        """(value, partner id, partner currency) of the live partners with *values*."""
        model, column, partner = _PARTNER_LOOKUPS[table]
        prefix = f"{partner}__" if partner else ""
        return model.objects.filter(
            **{f"{column}__in": values, f"{prefix}merged_into__isnull": True}
        ).values_list(column, partner or "pk", f"{prefix}currency")

    def match(self, key: PartnerKey) -> int | None:
        """The partner's id; None when nothing matches. Raises RowError when
        the keys given match several partners and none matches alone."""
        ambiguous: list[str] = []
        for table, value in key.lookups():
            if not value:
                continue
            ids = self.tables[table].get(value, [])
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                shown = key.name if table == "name" else value
                ambiguous.append(f"{len(ids)} partners have the {_KEY_LABELS[table]} {shown}")
        created = self.created.get(key.identity())
        if created is not None:
            return created
        if ambiguous:
            raise RowError("Cannot tell which partner is meant: " + "; ".join(ambiguous) + ".")
        return None

    def resolve(self, key: PartnerKey, *, role: str = "") -> int:
        """The partner's id, created when asked to; RowError otherwise."""
        if key.empty:
            raise RowError(
                "Give the partner: partner_external_id, partner_vat, partner_email or partner_name."
            )
        partner_id = self.match(key)
        if partner_id is not None:
            return partner_id
        if not self.create:
            self.result.unmatched.setdefault(repr(key.identity()), key.label())
            raise RowError(f"No partner matches {key.label()}.")
        if not key.name:
            self.result.unmatched.setdefault(repr(key.identity()), key.label())
            raise RowError(f"No partner matches {key.label()}; give partner_name to create it.")
        return self._create(key, role=role)

    def _create(self, key: PartnerKey, *, role: str) -> int:
        fields: dict[str, Any] = {}
        if key.vat:
            fields["vat"] = key.vat
        if role:
            fields[role] = True
        try:
            with transaction.atomic():
                partner = partner_create(
                    by=self.by,
                    kind=Partner.Kind.COMPANY,
                    name=key.name,
                    emails=[EmailInput(email=key.email)] if key.email else [],
                    **fields,
                )
                if key.external_id:
                    services.partner_terms_save(
                        by=self.by, partner=partner, values={"external_id": key.external_id}
                    )
        except ValidationError as exc:
            raise RowError(f"The partner {key.label()} cannot be created: {_join(exc)}") from None
        self.created[key.identity()] = partner.pk
        self.created_ids.add(partner.pk)
        for table, value in key.lookups():
            if value:
                self.tables[table].setdefault(value, []).append(partner.pk)
        self.currency[partner.pk] = partner.currency
        self.result.partners_created += 1
        self.result.note(f"Created the partner {partner.name}.")
        return partner.pk


def _join(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for messages in error.message_dict.values() for m in messages)
    return " ".join(error.messages)


def _by_name(model: Any) -> dict[str, Any]:
    """Every row of a small table (price lists, payment terms) by folded name."""
    return {fold(obj.name): obj for obj in model.objects.all()}


def _timeline(
    subject: Any, *, partner_id: int, by: User | None, action: str, body: str, changes: Any = ()
) -> TimelineEntry:
    entry = timeline_build(
        subject=subject,
        partner=None,
        kind=TimelineEntry.Kind.FIELD_CHANGE if changes else TimelineEntry.Kind.SYSTEM,
        author=by,
        action=action,
        body=body,
        changes=changes,
    )
    entry.partner_id = partner_id
    return entry


# --------------------------------------------------------------------------
# The importers


@dataclass
class Options:
    by: User | None
    file_name: str = ""
    create_partners: bool = False


Progress = Callable[[int, int], None]


def _batches(rows: Sequence[Row], size: int = BATCH_ROWS) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _duplicates(
    rows: Sequence[Row], key: Callable[[Row], Any], result: ImportResult, seen: dict[Any, int]
) -> list[Row]:
    """Rows whose key was not met before; later repeats are rejected."""
    kept = []
    for row in rows:
        try:
            value = key(row)
        except RowError as exc:
            result.add(row, REJECTED, str(exc))
            continue
        first = seen.get(value)
        if first is not None:
            result.add(row, REJECTED, f"The same record as row {first}; keep one of them.")
            continue
        seen[value] = row.number
        kept.append(row)
    return kept


class ProductImporter:
    FIELDS = ("name", "kind", "category", "unit", "list_price", "cost", "tax_rate", "active")

    def __init__(self, options: Options, result: ImportResult, columns: set[str]) -> None:
        self.options = options
        self.result = result
        self.columns = columns
        self.seen: dict[Any, int] = {}
        self.categories = {fold(path): pk for pk, path in services.category_paths().items()}

    def _category(self, path: str) -> int | None:
        parts = _category_parts(path)
        if not parts:
            return None
        parent: int | None = None
        for depth in range(len(parts)):
            here = " / ".join(parts[: depth + 1])
            found = self.categories.get(fold(here))
            if found is None:
                try:
                    created = services.product_category_save(
                        by=self.options.by, values={"name": parts[depth], "parent": parent}
                    )
                except ValidationError as exc:
                    raise RowError(f"category: {_join(exc)}") from None
                found = self.categories[fold(here)] = created.pk
            parent = found
        return parent

    def _clean(self, row: Row) -> dict[str, Any]:
        v = row.values
        cleaned: dict[str, Any] = {}
        if "name" in self.columns and v.get("name"):
            cleaned["name"] = _text(v, "name", max_length=200)
        if v.get("kind"):
            cleaned["kind"] = _choice(v, "kind", _PRODUCT_KINDS, "kind of product")
        if "category" in self.columns:
            cleaned["category_id"] = self._category(v.get("category", ""))
        if v.get("unit"):
            cleaned["unit"] = _choice(v, "unit", _UNITS, "unit of measure")
        for column in ("list_price", "cost"):
            if v.get(column):
                cleaned[column] = _decimal(v, column, minimum=Decimal(0))
        if v.get("tax_rate"):
            cleaned["tax_rate"] = _decimal(v, "tax_rate", minimum=Decimal(0), maximum=Decimal(100))
        active = _bool(v, "active")
        if active is not None:
            cleaned["active"] = active
        if "description" in self.columns:
            try:
                cleaned["description"] = services._description(v.get("description", ""))
            except ValidationError as exc:
                raise RowError(f"description: {exc.messages[0]}") from None
        return cleaned

    def batch(self, rows: Sequence[Row]) -> None:
        rows = _duplicates(
            rows, lambda r: _product_code(r.values.get("code", "")), self.result, self.seen
        )
        codes = [_product_code(r.values["code"]) for r in rows]
        existing = {p.code: p for p in Product.objects.filter(code__in=codes)}
        now = timezone.now()
        new: list[Product] = []
        changed: list[Product] = []
        changed_fields: set[str] = set()
        for row, code in zip(rows, codes, strict=True):
            try:
                cleaned = self._clean(row)
                product = existing.get(code)
                if product is None:
                    if not cleaned.get("name"):
                        raise RowError("name: a new product needs a name.")
                    new.append(Product(code=code, created_at=now, updated_at=now, **cleaned))
                    self.result.add(row, CREATED)
                    continue
            except RowError as exc:
                self.result.add(row, REJECTED, str(exc))
                continue
            diff = [f for f, value in cleaned.items() if getattr(product, f) != value]
            if not diff:
                self.result.add(row, UNCHANGED)
                continue
            for f in diff:
                setattr(product, f, cleaned[f])
            product.updated_at = now
            changed.append(product)
            changed_fields.update(diff)
            self.result.add(row, UPDATED)
        Product.objects.bulk_create(new, batch_size=1000)
        if changed:
            Product.objects.bulk_update(changed, [*changed_fields, "updated_at"], batch_size=1000)


class PriceListImporter:
    RULE_FIELDS = (
        "sequence",
        "base",
        "base_price_list_id",
        "fixed_price",
        "discount_percent",
        "surcharge",
    )

    def __init__(self, options: Options, result: ImportResult, columns: set[str]) -> None:
        self.options = options
        self.result = result
        self.columns = columns
        self.lists = _by_name(PriceList)
        self.versions: dict[int, list[PriceListVersion]] = defaultdict(list)
        for version in PriceListVersion.objects.all():
            self.versions[version.price_list_id].append(version)
        self.rules: dict[int, dict[tuple[Any, ...], PriceRule]] = {}
        self.seen: dict[Any, int] = {}
        self.categories = {fold(path): pk for pk, path in services.category_paths().items()}
        self.next_sequence: dict[int, int] = {}
        self.products: dict[str, int] = {}

    def _price_list(self, row: Row) -> tuple[PriceList, bool]:
        v = row.values
        name = _text(v, "price_list", max_length=100, required=True)
        currency = _currency(v)
        found = self.lists.get(fold(name))
        if found is None:
            if not currency:
                raise RowError(f"currency: the new price list {name} needs a currency.")
            found = self._save_list(None, {"name": name, "currency": currency})
            self.lists[fold(name)] = found
            return found, True
        if currency and currency != found.currency:
            if PriceListVersion.objects.filter(price_list=found, rules__isnull=False).exists():
                raise RowError(
                    f"currency: {found.name} is in {found.currency}, not {currency}; "
                    "its prices cannot change currency."
                )
            self._save_list(found, {"currency": currency})
            return found, True
        return found, False

    def _version(self, row: Row, price_list: PriceList) -> tuple[PriceListVersion, bool]:
        v = row.values
        valid_from = _date(v, "valid_from")
        valid_to = _date(v, "valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            raise RowError(f"valid_to: the version cannot end ({valid_to}) before it starts.")
        name = _text(v, "version", max_length=100) or (
            valid_from.isoformat() if valid_from else "Imported"
        )
        versions = self.versions[price_list.pk]
        found = next((x for x in versions if x.valid_from == valid_from), None)
        if found is not None:
            if "valid_to" in self.columns and found.valid_to != valid_to:
                self._check_overlap(price_list, found, valid_from, valid_to)
                self._save_version(found, price_list, {"valid_to": valid_to})
                return found, True
            return found, False
        self._check_overlap(price_list, None, valid_from, valid_to)
        if any(fold(x.name) == fold(name) for x in versions):
            raise RowError(f"version: {price_list.name} already has a version called {name}.")
        created = self._save_version(
            None, price_list, {"name": name, "valid_from": valid_from, "valid_to": valid_to}
        )
        versions.append(created)
        self.rules[created.pk] = {}
        return created, True

    def _save_list(self, price_list: PriceList | None, values: dict[str, Any]) -> PriceList:
        try:
            return services.price_list_save(
                by=self.options.by, price_list=price_list, values=values
            )
        except ValidationError as exc:
            raise RowError(f"price_list: {_join(exc)}") from None

    def _save_version(
        self, version: PriceListVersion | None, price_list: PriceList, values: dict[str, Any]
    ) -> PriceListVersion:
        try:
            return services.price_list_version_save(
                by=self.options.by, version=version, price_list=price_list, values=values
            )
        except ValidationError as exc:
            raise RowError(f"version: {_join(exc)}") from None

    def _check_overlap(
        self,
        price_list: PriceList,
        version: PriceListVersion | None,
        valid_from: datetime.date | None,
        valid_to: datetime.date | None,
    ) -> None:
        for other in self.versions[price_list.pk]:
            if other is version or not other.active:
                continue
            if services._overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
                raise RowError(
                    f"valid_from: these dates overlap the version {other.name} of "
                    f"{price_list.name} ({services.version_period(other)}); give the "
                    "earlier version an end date (valid_to)."
                )

    def _target(self, row: Row) -> tuple[int | None, int | None]:
        v = row.values
        product_id = category_id = None
        if v.get("product_code"):
            code = _product_code(v["product_code"], "product_code")
            product_id = self.products.get(code)
            if product_id is None:
                raise RowError(f"product_code: there is no product {code}; import it first.")
        if v.get("category"):
            category_id = self.categories.get(fold(" / ".join(_category_parts(v["category"]))))
            if category_id is None:
                raise RowError(f"category: there is no product category {v['category']}.")
        if product_id and category_id:
            raise RowError("A rule applies to a product or to a category, not both.")
        return product_id, category_id

    def _rule_values(self, row: Row, price_list: PriceList) -> dict[str, Any]:
        v = row.values
        fixed_price = _decimal(v, "fixed_price", minimum=Decimal(0))
        if v.get("base"):
            base = _choice(v, "base", _BASES, "price base")
        else:
            base = PriceRule.Base.FIXED if fixed_price is not None else PriceRule.Base.LIST_PRICE
        base_list_id = None
        if base == PriceRule.Base.OTHER_LIST:
            base_name = v.get("base_price_list", "")
            base_list = self.lists.get(fold(base_name))
            if base_list is None:
                raise RowError(f"base_price_list: there is no price list called “{base_name}”.")
            if base_list.pk == price_list.pk:
                raise RowError(
                    f"base_price_list: a rule of {price_list.name} cannot be based on itself."
                )
            base_list_id = base_list.pk
        if base == PriceRule.Base.FIXED and fixed_price is None:
            raise RowError("fixed_price: enter the fixed price.")
        values: dict[str, Any] = {
            "base": base,
            "base_price_list_id": base_list_id,
            "fixed_price": fixed_price if base == PriceRule.Base.FIXED else None,
            "discount_percent": _decimal(
                v, "discount", minimum=Decimal(-1000), maximum=Decimal(100)
            )
            or Decimal(0),
            "surcharge": _decimal(v, "surcharge") or Decimal(0),
        }
        sequence = _sequence(v)
        if sequence is not None:
            values["sequence"] = sequence
        return values

    def _load_rules(self, version_ids: set[int]) -> None:
        missing = version_ids - set(self.rules)
        for version_id in missing:
            self.rules[version_id] = {}
        for rule in PriceRule.objects.filter(version_id__in=missing):
            key = (rule.product_id, rule.category_id, rule.min_quantity)
            self.rules[rule.version_id][key] = rule

    def batch(self, rows: Sequence[Row]) -> None:
        codes = set()
        for row in rows:
            if row.values.get("product_code"):
                with contextlib.suppress(RowError):
                    codes.add(_product_code(row.values["product_code"], "product_code"))
        self.products = dict(Product.objects.filter(code__in=codes).values_list("code", "pk"))
        new: list[PriceRule] = []
        changed: list[PriceRule] = []
        for row in rows:
            try:
                product_id, category_id = self._target(row)
                min_quantity = _decimal(row.values, "min_quantity", minimum=Decimal(0)) or Decimal(
                    0
                )
                price_list, list_changed = self._price_list(row)
                version, version_changed = self._version(row, price_list)
                if version.pk not in self.rules:
                    self._load_rules({version.pk})
                key = (product_id, category_id, min_quantity)
                first = self.seen.get((version.pk, key))
                if first is not None:
                    raise RowError(f"The same rule as row {first}; keep one of them.")
                values = self._rule_values(row, price_list)
            except RowError as exc:
                self.result.add(row, REJECTED, str(exc))
                continue
            self.seen[(version.pk, key)] = row.number
            rules = self.rules[version.pk]
            rule = rules.get(key)
            if rule is None:
                if "sequence" not in values:
                    last = self.next_sequence.get(version.pk) or max(
                        (r.sequence for r in rules.values()), default=0
                    )
                    values["sequence"] = last + services.SEQUENCE_STEP
                self.next_sequence[version.pk] = values["sequence"]
                rule = PriceRule(
                    version=version,
                    product_id=product_id,
                    category_id=category_id,
                    min_quantity=min_quantity,
                    **values,
                )
                rules[key] = rule
                new.append(rule)
                self.result.add(row, CREATED)
                continue
            diff = [f for f, value in values.items() if getattr(rule, f) != value]
            for f in diff:
                setattr(rule, f, values[f])
            if diff:
                changed.append(rule)
            self.result.add(row, UPDATED if diff or list_changed or version_changed else UNCHANGED)
        PriceRule.objects.bulk_create(new, batch_size=1000)
        if changed:
            PriceRule.objects.bulk_update(changed, self.RULE_FIELDS, batch_size=1000)


class PartnerTermsImporter:
    FIELDS = ("price_list", "supplier_price_list", "payment_term", "credit_limit", "external_id")

    def __init__(self, options: Options, result: ImportResult, columns: set[str]) -> None:
        self.options = options
        self.result = result
        self.columns = columns
        self.matcher = PartnerMatcher(by=options.by, create=options.create_partners, result=result)
        self.price_lists = _by_name(PriceList)
        self.terms = _by_name(PaymentTerm)
        self.by_pk: dict[str, dict[int, Any]] = {
            "price_list": {x.pk: x for x in self.price_lists.values()},
            "supplier_price_list": {x.pk: x for x in self.price_lists.values()},
            "payment_term": {x.pk: x for x in self.terms.values()},
        }
        self.seen: dict[Any, int] = {}

    def _old(self, terms: PartnerTerms, name: str) -> Any:
        """The current value, without a query per related row."""
        if name in self.by_pk:
            return self.by_pk[name].get(getattr(terms, f"{name}_id"))
        return getattr(terms, name)

    def _named(self, row: Row, column: str, table: dict[str, Any], what: str) -> Any:
        name = row.values.get(column, "")
        if not name:
            return None
        found = table.get(fold(name))
        if found is None:
            raise RowError(f"{column}: there is no {what} called “{name}”.")
        return found

    def _clean(self, row: Row) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        for column, table, what in (
            ("price_list", self.price_lists, "price list"),
            ("supplier_price_list", self.price_lists, "price list"),
            ("payment_term", self.terms, "payment term"),
        ):
            if column in self.columns:
                cleaned[column] = self._named(row, column, table, what)
        if "credit_limit" in self.columns:
            cleaned["credit_limit"] = _decimal(row.values, "credit_limit", minimum=Decimal(0))
        external_id = row.values.get("partner_external_id", "").strip()
        if external_id:
            if len(external_id) > 100:
                raise RowError("partner_external_id: keep it to 100 characters.")
            cleaned["external_id"] = external_id
        return cleaned

    def batch(self, rows: Sequence[Row]) -> None:
        self.matcher.load(PartnerKey.of(r.values) for r in rows)
        matched: list[tuple[Row, int, dict[str, Any]]] = []
        for row in rows:
            try:
                cleaned = self._clean(row)
                partner_id = self.matcher.resolve(PartnerKey.of(row.values))
                first = self.seen.get(partner_id)
                if first is not None:
                    raise RowError(f"The same partner as row {first}; keep one of them.")
                self.seen[partner_id] = row.number
            except RowError as exc:
                self.result.add(row, REJECTED, str(exc))
                continue
            matched.append((row, partner_id, cleaned))
        existing = {
            t.partner_id: t
            for t in PartnerTerms.objects.filter(partner_id__in=[m[1] for m in matched])
        }
        taken = dict(
            PartnerTerms.objects.filter(
                external_id__in=[m[2]["external_id"] for m in matched if "external_id" in m[2]]
            ).values_list("external_id", "partner_id")
        )
        now = timezone.now()
        by = self.options.by
        new: list[PartnerTerms] = []
        changed: list[PartnerTerms] = []
        entries: list[TimelineEntry] = []
        for row, partner_id, cleaned in matched:
            owner = taken.get(cleaned.get("external_id", ""))
            if owner is not None and owner != partner_id:
                self.result.add(
                    row,
                    REJECTED,
                    f"partner_external_id: another partner already has the ERP id "
                    f"{cleaned['external_id']}.",
                )
                continue
            if "external_id" in cleaned:
                taken[cleaned["external_id"]] = partner_id
            terms = existing.get(partner_id)
            creating = terms is None
            if terms is None:
                terms = PartnerTerms(partner_id=partner_id)
            changes = []
            for name, value in cleaned.items():
                old = self._old(terms, name)
                if old != value:
                    changes.append(
                        {
                            "label": services.TERMS_LABELS[name],
                            "old": services._terms_text(name, old),
                            "new": services._terms_text(name, value),
                        }
                    )
                    setattr(terms, name, value)
            if not changes:
                fresh = partner_id in self.matcher.created_ids
                self.result.add(row, CREATED if fresh else UNCHANGED)
                continue
            terms.updated_at, terms.updated_by = now, by
            (new if creating else changed).append(terms)
            self.result.add(row, CREATED if partner_id in self.matcher.created_ids else UPDATED)
            entries.append(
                _timeline(
                    Partner(pk=partner_id),
                    partner_id=partner_id,
                    by=by,
                    action="terms_updated",
                    body=f"Commercial terms imported from {self.options.file_name}",
                    changes=changes,
                )
            )
        PartnerTerms.objects.bulk_create(new, batch_size=1000)
        if changed:
            PartnerTerms.objects.bulk_update(
                changed, [*self.FIELDS, "updated_at", "updated_by"], batch_size=1000
            )
        TimelineEntry.objects.bulk_create(entries, batch_size=1000)


# --------------------------------------------------------------------------
# Invoices


@dataclass
class _Document:
    key: tuple[str, str]  # (kind, number)
    rows: list[Row] = field(default_factory=list)
    header: Row | None = None


@dataclass
class _Priced:
    header: dict[str, Any]
    lines: list[dict[str, Any]]


class InvoiceImporter:
    HEADER = (
        "partner_id",
        "currency",
        "state",
        "invoice_date",
        "due_date",
        "reference",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_paid",
    )
    LINE = (
        "sequence",
        "product_id",
        "description",
        "quantity",
        "unit_price",
        "discount_percent",
        "tax_rate",
        "subtotal",
        "tax_amount",
    )
    HEADER_COLUMNS = tuple(c for c in _INVOICE_HEADER if c not in _DOCUMENT_KEY)

    def __init__(self, options: Options, result: ImportResult, columns: set[str]) -> None:
        self.options = options
        self.result = result
        self.columns = columns
        self.matcher = PartnerMatcher(by=options.by, create=options.create_partners, result=result)
        self.products: dict[str, tuple[int, str, Decimal]] = {}

    @staticmethod
    def document_key(row: Row, has_type: bool) -> tuple[str, str]:
        number = " ".join(row.values.get("number", "").split())
        if not number:
            raise RowError("number: enter the document number.")
        if len(number) > 30:
            raise RowError(f"number: keep it to 30 characters (it has {len(number)}).")
        kind = (
            _choice(row.values, "type", _INVOICE_KINDS, "document type")
            if has_type
            else Invoice.Kind.CUSTOMER_INVOICE
        )
        return kind, number

    def documents(self, rows: Sequence[Row], header_rows: Sequence[Row] | None) -> list[_Document]:
        """Group the line rows by document; with a headers file, attach each header."""
        docs: dict[tuple[str, str], _Document] = {}
        has_type = "type" in self.columns
        if header_rows is not None:
            for row in header_rows:
                try:
                    key = self.document_key(row, has_type)
                except RowError as exc:
                    self.result.add(row, REJECTED, str(exc))
                    continue
                if key in docs:
                    first = docs[key].header
                    self.result.add(
                        row,
                        REJECTED,
                        f"The same document as row {first.number if first else '?'}; keep one.",
                    )
                    continue
                docs[key] = _Document(key=key, header=row)
        for row in rows:
            try:
                key = self.document_key(row, has_type)
            except RowError as exc:
                self.result.add(row, REJECTED, str(exc))
                continue
            doc = docs.get(key)
            if doc is None:
                if header_rows is not None:
                    self.result.add(
                        row, REJECTED, f"No row of the headers file is the document {key[1]}."
                    )
                    continue
                doc = docs[key] = _Document(key=key)
            doc.rows.append(row)
        return list(docs.values())

    def _load_products(self, docs: Sequence[_Document]) -> None:
        codes = set()
        for doc in docs:
            for row in doc.rows:
                raw = row.values.get("product_code", "")
                if raw:
                    with contextlib.suppress(RowError):
                        codes.add(_product_code(raw, "product_code"))
        codes -= set(self.products)
        for pk, code, name, tax_rate in Product.objects.filter(code__in=codes).values_list(
            "pk", "code", "name", "tax_rate"
        ):
            self.products[code] = (pk, name, tax_rate)

    def _header(self, doc: _Document) -> dict[str, Any]:
        """The document's header from its header row, or from its first line
        row (the other line rows must agree)."""
        source = doc.header or doc.rows[0]
        if doc.header is None:
            given = {c: source.values.get(c, "") for c in self.HEADER_COLUMNS}
            for row in doc.rows[1:]:
                for column, value in given.items():
                    other = row.values.get(column, "")
                    if other and other != value:
                        raise RowError(
                            f"{column}: row {row.number} gives “{other}” but row "
                            f"{source.number} gives “{value}” for the same document."
                        )
        v = source.values
        kind, number = doc.key
        partner_id = self.matcher.resolve(
            PartnerKey.of(v),
            role="is_customer" if kind.startswith("out") else "is_supplier",
        )
        currency = (
            _currency(v) or self.matcher.currency.get(partner_id) or settings.COMPANY_CURRENCY
        )
        state = (
            _choice(v, "state", _INVOICE_STATES, "document state")
            if v.get("state")
            else Invoice.State.POSTED
        )
        invoice_date = _date(v, "date", required=state != Invoice.State.DRAFT)
        due_date = _date(v, "due_date") or invoice_date
        return {
            "kind": kind,
            "number": number,
            "partner_id": partner_id,
            "currency": currency,
            "state": state,
            "invoice_date": invoice_date,
            "due_date": due_date,
            "reference": _text(v, "reference", max_length=100),
            "total": _decimal(v, "total"),
            "amount_paid": _decimal(v, "amount_paid"),
        }

    def _line(self, row: Row, index: int, currency: str) -> dict[str, Any]:
        v = row.values
        product_id = None
        name = ""
        product_tax = Decimal(0)
        if v.get("product_code"):
            code = _product_code(v["product_code"], "product_code")
            found = self.products.get(code)
            if found is None:
                raise RowError(f"product_code: there is no product {code}; import it first.")
            product_id, name, product_tax = found
        description = _text(v, "line_description", max_length=500) or name
        if not description:
            raise RowError("line_description: enter a description (or a product_code).")
        quantity = _decimal(v, "quantity")
        unit_price = _decimal(v, "unit_price", required=True)
        discount = _decimal(v, "discount", minimum=Decimal(0), maximum=Decimal(100))
        tax_rate = _decimal(v, "tax_rate", minimum=Decimal(0), maximum=Decimal(100))
        quantity = Decimal(1) if quantity is None else quantity
        discount = discount or Decimal(0)
        tax_rate = product_tax if tax_rate is None else tax_rate
        assert unit_price is not None  # noqa: S101 - required above
        subtotal, tax = line_amounts(
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount,
            tax_rate=tax_rate,
            currency=currency,
        )
        sequence = _sequence(v)
        return {
            "sequence": (index + 1) * 10 if sequence is None else sequence,
            "product_id": product_id,
            "description": description,
            "quantity": quantity,
            "unit_price": unit_price,
            "discount_percent": discount,
            "tax_rate": tax_rate,
            "subtotal": subtotal,
            "tax_amount": tax,
        }

    def _price(self, doc: _Document) -> _Priced:
        if not doc.rows:
            raise RowError(f"The document {doc.key[1]} has no lines.")
        header = self._header(doc)
        lines = []
        errors = []
        for index, row in enumerate(doc.rows):
            try:
                lines.append(self._line(row, index, header["currency"]))
            except RowError as exc:
                errors.append(f"row {row.number}: {exc}" if len(doc.rows) > 1 else str(exc))
        if errors:
            raise RowError("; ".join(errors))
        untaxed = sum((line["subtotal"] for line in lines), Decimal(0))
        tax = sum((line["tax_amount"] for line in lines), Decimal(0))
        total = untaxed + tax
        currency = header["currency"]
        if header["total"] is not None and header["total"] != total:
            raise RowError(
                f"total: the lines add up to {money_format(total, currency)}, but the total "
                f"column says {money_format(header['total'], currency)}."
            )
        header.update(amount_untaxed=untaxed, amount_tax=tax, amount_total=total)
        return _Priced(header=header, lines=lines)

    @staticmethod
    def _settle(header: dict[str, Any], allocated: Decimal) -> None:
        """amount_paid and state from the file, raised to what payments in
        Goodwill already allocated to the document."""
        state, total = header["state"], header["amount_total"]
        paid = header.pop("amount_paid")
        if paid is None:
            paid = total if state == Invoice.State.PAID else Decimal(0)
        if state in (Invoice.State.POSTED, Invoice.State.PARTIAL, Invoice.State.PAID):
            paid = max(paid, allocated)
            if state != Invoice.State.PAID and paid > 0:
                state = Invoice.State.PAID if paid >= total else Invoice.State.PARTIAL
        header["amount_paid"], header["state"] = paid, state

    def _outcome(self, doc: _Document, outcome: str, error: str = "") -> None:
        self.result.documents[outcome] = self.result.documents.get(outcome, 0) + 1
        rows = ([doc.header] if doc.header else []) + doc.rows
        for row in rows:
            self.result.add(row, outcome, error, note=False)
        if outcome == REJECTED:
            self.result.note(
                f"{row_label(rows[0])} ({doc.key[1]}, {len(rows)} rows): {error}", row=rows[0]
            )

    def batch(self, docs: Sequence[_Document]) -> None:
        self.matcher.load(
            PartnerKey.of((d.header or d.rows[0]).values) for d in docs if d.header or d.rows
        )
        self._load_products(docs)
        priced: list[tuple[_Document, _Priced]] = []
        for doc in docs:
            try:
                priced.append((doc, self._price(doc)))
            except RowError as exc:
                self._outcome(doc, REJECTED, str(exc))
        numbers = {doc.key[1] for doc, _ in priced}
        existing = {(i.kind, i.number): i for i in Invoice.objects.filter(number__in=numbers)}
        ids = [i.pk for i in existing.values()]
        old_lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        allocated: dict[int, Decimal] = {}
        if ids:
            for row in (
                InvoiceLine.objects.filter(invoice_id__in=ids)
                .order_by("invoice_id", "sequence", "id")
                .values_list("invoice_id", *self.LINE)
            ):
                old_lines[row[0]].append(tuple(row[1:]))
            allocated = dict(
                PaymentAllocation.objects.filter(invoice_id__in=ids)
                .values("invoice_id")
                .annotate(total=Sum("amount"))
                .values_list("invoice_id", "total")
            )
        now = timezone.now()
        by = self.options.by
        created: list[tuple[Invoice, list[dict[str, Any]]]] = []
        changed: list[Invoice] = []
        relined: list[tuple[Invoice, list[dict[str, Any]]]] = []
        entries: list[TimelineEntry] = []
        for doc, result in priced:
            header = result.header
            header.pop("total")
            invoice = existing.get(doc.key)
            self._settle(header, allocated.get(invoice.pk, Decimal(0)) if invoice else Decimal(0))
            if invoice is None:
                invoice = Invoice(
                    **{k: header[k] for k in ("kind", "number", *self.HEADER)},
                    created_by=by,
                    created_at=now,
                    updated_at=now,
                    posted_at=None if header["state"] == Invoice.State.DRAFT else now,
                )
                created.append((invoice, result.lines))
                self._outcome(doc, CREATED)
                continue
            diff = [f for f in self.HEADER if getattr(invoice, f) != header[f]]
            lines_differ = old_lines.get(invoice.pk, []) != [
                tuple(line[f] for f in self.LINE) for line in result.lines
            ]
            if not diff and not lines_differ:
                self._outcome(doc, UNCHANGED)
                continue
            for f in diff:
                setattr(invoice, f, header[f])
            invoice.updated_at = now
            changed.append(invoice)
            if lines_differ:
                relined.append((invoice, result.lines))
            self._outcome(doc, UPDATED)
        Invoice.objects.bulk_create([inv for inv, _ in created], batch_size=1000)
        if changed:
            Invoice.objects.bulk_update(changed, [*self.HEADER, "updated_at"], batch_size=1000)
        if relined:
            InvoiceLine.objects.filter(invoice_id__in=[inv.pk for inv, _ in relined]).delete()
        InvoiceLine.objects.bulk_create(
            (
                InvoiceLine(invoice_id=inv.pk, **line)
                for inv, lines in (*created, *relined)
                for line in lines
            ),
            batch_size=2000,
        )
        for invoice in [inv for inv, _ in created] + changed:
            verb = "imported" if invoice.created_at == now else "updated by an import"
            entries.append(
                _timeline(
                    invoice,
                    partner_id=invoice.partner_id,
                    by=by,
                    action="imported",
                    body=f"{invoice.get_kind_display()} {invoice.number} {verb} from "
                    f"{self.options.file_name}: "
                    f"{money_format(invoice.amount_total, invoice.currency)}, "
                    f"{invoice.get_state_display().lower()}",
                )
            )
        TimelineEntry.objects.bulk_create(entries, batch_size=2000)


# --------------------------------------------------------------------------
# Payments


class PaymentImporter:
    def __init__(self, options: Options, result: ImportResult, columns: set[str]) -> None:
        self.options = options
        self.result = result
        self.columns = columns
        self.matcher = PartnerMatcher(by=options.by, create=options.create_partners, result=result)
        self.seen: dict[Any, int] = {}
        # (kind, number) -> invoice, with what payments already allocated to it.
        self.invoices: dict[tuple[str, str], Invoice] = {}
        self.allocated: dict[int, Decimal] = {}
        self.looked_up: set[str] = set()

    def _clean(self, row: Row) -> dict[str, Any]:
        v = row.values
        direction = (
            _choice(v, "direction", _DIRECTIONS, "direction (in or out)")
            if v.get("direction")
            else Payment.Direction.INBOUND
        )
        method = (
            _choice(v, "method", _METHODS, "payment method")
            if v.get("method")
            else Payment.Method.BANK
        )
        amount = _decimal(v, "amount", minimum=Decimal(0), required=True)
        if not amount:
            raise RowError("amount: a payment must be more than zero.")
        numbers = [n.strip() for n in re.split(r"[;,|\n]", v.get("invoices", "")) if n.strip()]
        return {
            "direction": direction,
            "method": method,
            "amount": amount,
            "currency": _currency(v),
            "payment_date": _date(v, "date", required=True),
            "reference": _text(v, "reference", max_length=100),
            "numbers": list(dict.fromkeys(numbers)),
        }

    def _load_invoices(self, numbers: set[str]) -> None:
        wanted = numbers - self.looked_up
        self.looked_up |= wanted
        if not wanted:
            return
        found = list(
            Invoice.objects.filter(
                number__in=wanted,
                kind__in=[Invoice.Kind.CUSTOMER_INVOICE, Invoice.Kind.VENDOR_BILL],
            )
        )
        for invoice in found:
            self.invoices[(invoice.kind, invoice.number)] = invoice
        self.allocated.update(
            PaymentAllocation.objects.filter(invoice__in=found)
            .values("invoice_id")
            .annotate(total=Sum("amount"))
            .values_list("invoice_id", "total")
        )

    def _plan(self, values: dict[str, Any], partner_id: int) -> list[tuple[Invoice, Decimal]]:
        kind = (
            Invoice.Kind.CUSTOMER_INVOICE
            if values["direction"] == Payment.Direction.INBOUND
            else Invoice.Kind.VENDOR_BILL
        )
        left = values["amount"]
        plan = []
        for number in values["numbers"]:
            invoice = self.invoices.get((kind, number))
            label = Invoice.Kind(kind).label.lower()
            if invoice is None or invoice.partner_id != partner_id:
                raise RowError(f"invoices: there is no {label} {number} of this partner.")
            if invoice.currency != values["currency"]:
                raise RowError(
                    f"invoices: {number} is in {invoice.currency}, the payment in "
                    f"{values['currency']}."
                )
            if invoice.state in (Invoice.State.DRAFT, Invoice.State.CANCELLED):
                raise RowError(
                    f"invoices: {number} is {invoice.get_state_display().lower()}; only posted "
                    "documents can be paid."
                )
            residual = invoice.amount_total - self.allocated.get(invoice.pk, Decimal(0))
            share = min(left, residual)
            if share <= 0:
                if left <= 0:
                    raise RowError(
                        f"invoices: the payment is used up before {number}; list fewer invoices."
                    )
                raise RowError(f"invoices: {number} is already fully paid by other payments.")
            plan.append((invoice, share))
            left -= share
        return plan

    def batch(self, rows: Sequence[Row]) -> None:
        self.matcher.load(PartnerKey.of(r.values) for r in rows)
        cleaned: list[tuple[Row, int, dict[str, Any]]] = []
        for row in rows:
            try:
                values = self._clean(row)
                partner_id = self.matcher.resolve(
                    PartnerKey.of(row.values),
                    role="is_customer"
                    if values["direction"] == Payment.Direction.INBOUND
                    else "is_supplier",
                )
                values["currency"] = (
                    values["currency"]
                    or self.matcher.currency.get(partner_id)
                    or settings.COMPANY_CURRENCY
                )
                key = (values["reference"], partner_id, values["payment_date"], values["amount"])
                first = self.seen.get(key)
                if first is not None:
                    raise RowError(f"The same payment as row {first}; keep one of them.")
                self.seen[key] = row.number
            except RowError as exc:
                self.result.add(row, REJECTED, str(exc))
                continue
            cleaned.append((row, partner_id, values))
        self._load_invoices({n for _, _, values in cleaned for n in values["numbers"]})
        existing: dict[tuple[Any, ...], Payment] = {}
        if cleaned:
            for payment in Payment.objects.filter(
                partner_id__in={c[1] for c in cleaned},
                payment_date__in={c[2]["payment_date"] for c in cleaned},
            ):
                existing[
                    (payment.reference, payment.partner_id, payment.payment_date, payment.amount)
                ] = payment
        existing_allocations: dict[int, set[int]] = defaultdict(set)
        for payment_id, invoice_id in PaymentAllocation.objects.filter(
            payment_id__in=[p.pk for p in existing.values()]
        ).values_list("payment_id", "invoice_id"):
            existing_allocations[payment_id].add(invoice_id)
        now = timezone.now()
        by = self.options.by
        new: list[tuple[Payment, list[tuple[Invoice, Decimal]]]] = []
        changed: list[Payment] = []
        touched: dict[int, Invoice] = {}
        for row, partner_id, values in cleaned:
            key = (values["reference"], partner_id, values["payment_date"], values["amount"])
            found = existing.get(key)
            try:
                if found is not None:
                    kind = (
                        Invoice.Kind.CUSTOMER_INVOICE
                        if values["direction"] == Payment.Direction.INBOUND
                        else Invoice.Kind.VENDOR_BILL
                    )
                    listed = {
                        self.invoices[(kind, n)].pk
                        for n in values["numbers"]
                        if (kind, n) in self.invoices
                    }
                    if (
                        found.direction != values["direction"]
                        or found.currency != values["currency"]
                        or listed != existing_allocations[found.pk]
                    ):
                        raise RowError(
                            "This payment is already in Goodwill with another direction, "
                            "currency or other invoices; change it there."
                        )
                    if found.method != values["method"]:
                        found.method = values["method"]
                        changed.append(found)
                        self.result.add(row, UPDATED)
                    else:
                        self.result.add(row, UNCHANGED)
                    continue
                plan = self._plan(values, partner_id)
            except RowError as exc:
                self.result.add(row, REJECTED, str(exc))
                continue
            payment = Payment(
                direction=values["direction"],
                partner_id=partner_id,
                amount=values["amount"],
                currency=values["currency"],
                payment_date=values["payment_date"],
                method=values["method"],
                reference=values["reference"],
                amount_allocated=sum((share for _, share in plan), Decimal(0)),
                created_by=by,
                created_at=now,
            )
            for invoice, share in plan:
                done = self.allocated.get(invoice.pk, Decimal(0)) + share
                self.allocated[invoice.pk] = done
                if done > invoice.amount_paid:
                    invoice.amount_paid = done
                if invoice.state != Invoice.State.PAID:
                    invoice.state = (
                        Invoice.State.PAID
                        if invoice.amount_paid >= invoice.amount_total
                        else Invoice.State.PARTIAL
                    )
                invoice.updated_at = now
                touched[invoice.pk] = invoice
            new.append((payment, plan))
            self.result.add(row, CREATED)
        Payment.objects.bulk_create([p for p, _ in new], batch_size=1000)
        PaymentAllocation.objects.bulk_create(
            (
                PaymentAllocation(payment_id=p.pk, invoice_id=inv.pk, amount=share, created_at=now)
                for p, plan in new
                for inv, share in plan
            ),
            batch_size=1000,
        )
        if touched:
            Invoice.objects.bulk_update(
                list(touched.values()), ["amount_paid", "state", "updated_at"], batch_size=1000
            )
        if changed:
            Payment.objects.bulk_update(changed, ["method"], batch_size=1000)
        TimelineEntry.objects.bulk_create(
            (
                _timeline(
                    payment,
                    partner_id=payment.partner_id,
                    by=by,
                    action="payment",
                    body=f"{payment.get_direction_display()} "
                    f"{money_format(payment.amount, payment.currency)} imported from "
                    f"{self.options.file_name}"
                    + (
                        " for " + ", ".join(inv.number for inv, _ in plan)
                        if plan
                        else " (left as credit)"
                    ),
                )
                for payment, plan in new
            ),
            batch_size=1000,
        )


# --------------------------------------------------------------------------
# Running an import


REQUIRED: dict[str, list[tuple[str, ...]]] = {
    Kind.PRODUCTS: [("code",)],
    Kind.PRICE_LISTS: [("price_list",)],
    Kind.PARTNERS: [tuple(_PARTNER_KEYS)],
    Kind.INVOICES: [("number",), ("unit_price",)],
    Kind.PAYMENTS: [tuple(_PARTNER_KEYS), ("date",), ("amount",)],
}


def read_files(
    *,
    kind: str,
    content: bytes,
    file_name: str,
    lines_content: bytes | None = None,
    lines_file_name: str = "",
) -> list[Table]:
    """The file (and for invoices the optional lines file) as tables; raises
    ImportFileError when one cannot be read."""
    if kind not in COLUMNS:
        raise ImportFileError(f"Unknown kind of import {kind!r}.")
    if lines_content and kind != Kind.INVOICES:
        raise ImportFileError("Only invoices can come in two files (headers and lines).")
    if not lines_content:
        return [
            read_table(content, file_name=file_name, columns=COLUMNS[kind], required=REQUIRED[kind])
        ]
    headers = read_table(
        content,
        file_name=file_name,
        columns=_INVOICE_HEADER,
        required=[("number",), tuple(_PARTNER_KEYS)],
    )
    lines = read_table(
        lines_content,
        file_name=lines_file_name or "lines",
        columns=_INVOICE_LINE,
        required=[("number",), ("unit_price",)],
        source=table_source(1),
    )
    if ("type" in headers.columns) != ("type" in lines.columns):
        raise ImportFileError(
            "Give the document type in both files, or in neither: the lines are joined to "
            "their headers by number and type."
        )
    return [headers, lines]


class _SideProgress:
    """Progress written on a connection of its own, so that the page sees it
    while the import's transaction is still open (PostgreSQL only: SQLite
    allows one writer at a time)."""

    def __init__(self, job: SalesImport) -> None:
        self.job = job
        self.conn = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, done: int, total: int) -> None:
        table = self.conn.ops.quote_name(SalesImport._meta.db_table)
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET progress_done = %s, progress_total = %s WHERE id = %s",  # noqa: S608 - the table name is the model's
                [done, total, self.job.pk],
            )

    def close(self) -> None:
        self.conn.close()


def import_tables(
    tables: Sequence[Table],
    *,
    kind: str,
    options: Options,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the rows of *tables*; see the module's docstring."""
    result = ImportResult(kind=kind, dry_run=dry_run)
    result.rows = sum(len(t.rows) for t in tables)
    for table in tables:
        result.ignored_columns.extend(h for h in table.ignored if h not in result.ignored_columns)
    columns = set().union(*(t.columns for t in tables))
    atomic_run = dry_run or all_or_nothing
    done = 0

    def report(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, result.rows)

    def work() -> None:
        if kind == Kind.INVOICES:
            importer = InvoiceImporter(options, result, columns)
            header_rows = tables[0].rows if len(tables) > 1 else None
            docs = importer.documents(tables[-1].rows, header_rows)
            report(result.counts[REJECTED])
            batch: list[_Document] = []
            size = 0
            for doc in docs:
                batch.append(doc)
                size += len(doc.rows) + (1 if doc.header else 0)
                if size >= BATCH_ROWS:
                    run(importer.batch, batch, size)
                    batch, size = [], 0
            if batch:
                run(importer.batch, batch, size)
            return
        importers: dict[str, Any] = {
            Kind.PRODUCTS: ProductImporter,
            Kind.PRICE_LISTS: PriceListImporter,
            Kind.PARTNERS: PartnerTermsImporter,
            Kind.PAYMENTS: PaymentImporter,
        }
        importer = importers[kind](options, result, columns)
        for rows in _batches(tables[0].rows):
            run(importer.batch, rows, len(rows))

    def run(step: Callable[[Any], None], items: Any, count: int) -> None:
        if atomic_run:
            step(items)
        else:
            with transaction.atomic():
                step(items)
        report(count)

    if atomic_run:
        with transaction.atomic():
            work()
            if dry_run or result.counts[REJECTED]:
                result.rolled_back = True
                transaction.set_rollback(True)
    else:
        work()
    if not dry_run and not result.rolled_back:
        counts = dict(result.counts)
        events.emit(
            "sales.imported", kind=kind, counts=counts, by_id=getattr(options.by, "pk", None)
        )
    return result


# --------------------------------------------------------------------------
# Jobs


@transaction.atomic
def sales_import_request(
    *,
    by: User,
    kind: str,
    file_name: str,
    content: bytes,
    lines_file_name: str = "",
    lines_content: bytes | None = None,
    dry_run: bool = True,
    all_or_nothing: bool = False,
    create_partners: bool = False,
) -> SalesImport:
    """Queue an import of *content*; the worker runs it."""
    from goodwill.sales.tasks import sales_import_run_task

    if kind not in Kind.values:
        raise ValidationError({"kind": "Choose what the file holds."})
    if lines_content and kind != Kind.INVOICES:
        raise ValidationError({"lines_file": "Only invoices can come with a separate lines file."})
    if not content:
        raise ValidationError({"file": "The file is empty."})
    job = SalesImport.objects.create(
        created_by=by,
        kind=kind,
        file_name=file_name[:255],
        content=content,
        lines_file_name=(lines_file_name or "")[:255] if lines_content else "",
        lines_content=lines_content or None,
        dry_run=dry_run,
        all_or_nothing=all_or_nothing,
        create_partners=create_partners,
    )
    transaction.on_commit(lambda: sales_import_run_task.enqueue(import_id=job.pk))
    return job


def sales_import_repeat(*, job: SalesImport, by: User) -> SalesImport:
    """Queue the same file(s) and options again, for real this time."""
    return sales_import_request(
        by=by,
        kind=job.kind,
        file_name=job.file_name,
        content=bytes(job.content),
        lines_file_name=job.lines_file_name,
        lines_content=bytes(job.lines_content) if job.lines_content else None,
        dry_run=False,
        all_or_nothing=job.all_or_nothing,
        create_partners=job.create_partners,
    )


def sales_import_run(*, job: SalesImport) -> SalesImport:
    """Run a queued import, reporting progress after every batch (runs in the worker)."""
    if not job_claim(job):
        return job
    side: _SideProgress | None = None
    try:
        tables = read_files(
            kind=job.kind,
            content=bytes(job.content),
            file_name=job.file_name,
            lines_content=bytes(job.lines_content) if job.lines_content else None,
            lines_file_name=job.lines_file_name,
        )
        total = sum(len(t.rows) for t in tables)
        job_progress(job, done=0, total=total)
        progress: Progress | None
        if not (job.dry_run or job.all_or_nothing):
            progress = lambda done, total: job_progress(job, done=done)  # noqa: E731
        elif connection.vendor == "postgresql":
            side = progress = _SideProgress(job)
        else:
            progress = None
        result = import_tables(
            tables,
            kind=job.kind,
            options=Options(
                by=job.created_by, file_name=job.file_name, create_partners=job.create_partners
            ),
            dry_run=job.dry_run,
            all_or_nothing=job.all_or_nothing,
            progress=progress,
        )
    except ImportFileError as exc:
        job_finish(job, error=str(exc))
        return job
    except Exception as exc:
        job_finish(job, error=f"The import failed: {exc}")
        raise
    finally:
        if side is not None:
            side.close()
    job_finish(
        job,
        progress_done=result.rows,
        created=result.counts[CREATED],
        updated=result.counts[UPDATED],
        unchanged=result.counts[UNCHANGED],
        rejected=result.counts[REJECTED],
        report=result.as_report(),
        rejected_csv=rejected_csv(tables, result.rejected_rows),
    )
    return job


def template_csv(kind: str) -> str:
    """An example file for *kind*, with its columns and a row or two."""
    out = io.StringIO()
    csv.writer(out).writerows(TEMPLATES[kind])
    return out.getvalue()
