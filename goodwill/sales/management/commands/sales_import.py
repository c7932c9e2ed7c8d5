"""``goodwill sales_import --kind invoices FILE [--lines FILE] [--dry-run] …``:
import a CSV or XLSX file of commercial data from an ERP, here and now, and
print the report. The same import as the "Import from ERP" page, without the
worker and without the upload size limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goodwill.accounts.models import User
from goodwill.sales import imports
from goodwill.sales.models import SalesImport


class Command(BaseCommand):
    help = "Import products, price lists, partners' terms, invoices or payments from an ERP file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV or XLSX file (for invoices: the headers, or all)")
        parser.add_argument(
            "--kind", required=True, choices=SalesImport.Kind.values, help="what the file holds"
        )
        parser.add_argument("--lines", help="invoices only: a second file with the lines")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; save nothing"
        )
        parser.add_argument(
            "--all-or-nothing", action="store_true", help="save nothing if any row is rejected"
        )
        parser.add_argument(
            "--create-partners", action="store_true", help="create partners that match no one"
        )
        parser.add_argument(
            "--user", help="the username the changes are recorded under (default: none)"
        )
        parser.add_argument(
            "--rejected", help="write the rejected rows, with their reasons, to this CSV file"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        by = None
        if options["user"]:
            by = User.objects.filter(username=options["user"]).first()
            if by is None:
                raise CommandError(f"There is no user {options['user']}.")
        path = Path(options["file"])
        lines_path = Path(options["lines"]) if options["lines"] else None
        try:
            content = path.read_bytes()
            lines = lines_path.read_bytes() if lines_path else None
        except OSError as exc:
            raise CommandError(f"Cannot read {exc.filename}: {exc.strerror}.") from None
        try:
            tables = imports.read_files(
                kind=options["kind"],
                content=content,
                file_name=path.name,
                lines_content=lines,
                lines_file_name=lines_path.name if lines_path else "",
            )
        except imports.ImportFileError as exc:
            raise CommandError(str(exc)) from None

        def progress(done: int, total: int) -> None:
            if options["verbosity"] > 1:
                self.stderr.write(f"{done} of {total} rows")

        result = imports.import_tables(
            tables,
            kind=options["kind"],
            options=imports.Options(
                by=by, file_name=path.name, create_partners=options["create_partners"]
            ),
            dry_run=options["dry_run"],
            all_or_nothing=options["all_or_nothing"],
            progress=progress,
        )
        report = result.as_report()
        if options["rejected"]:
            Path(options["rejected"]).write_text(
                imports.rejected_csv(tables, result.rejected_rows), encoding="utf-8-sig"
            )
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self._print(report)

    def _print(self, report: dict[str, Any]) -> None:
        counts = report["counts"]
        mode = "Dry run (nothing saved)" if report["dry_run"] else "Import"
        if report["rolled_back"] and not report["dry_run"]:
            mode = "Nothing saved (all or nothing, and rows were rejected)"
        self.stdout.write(f"{mode}: {report['rows']} rows")
        for outcome in ("created", "updated", "unchanged", "rejected"):
            line = f"  {outcome:<10} {counts[outcome]:>8}"
            if "documents" in report:
                line += f"   ({report['documents'].get(outcome, 0)} documents)"
            self.stdout.write(line)
        if report["partners_created"]:
            self.stdout.write(f"Partners created: {report['partners_created']}")
        if report["unmatched_total"]:
            self.stdout.write(f"Partners that match no one: {report['unmatched_total']}")
            for label in report["unmatched_partners"]:
                self.stdout.write(f"  {label}")
        if report["ignored_columns"]:
            self.stdout.write(f"Columns ignored: {', '.join(report['ignored_columns'])}")
        for message in report["messages"]:
            self.stdout.write(f"  {message}")
        if report["messages_total"] > len(report["messages"]):
            more = report["messages_total"] - len(report["messages"])
            self.stdout.write(f"  … and {more} more (see --rejected)")
