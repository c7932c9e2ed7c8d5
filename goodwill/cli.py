"""The ``goodwill`` command: Django's manage.py with Goodwill's settings.

``goodwill --help`` lists Goodwill's own commands first, then Django's.
"""

from __future__ import annotations

import os
import sys

GOODWILL_COMMANDS = {
    "demo": "migrate, load the demo data, and run the web server and the worker",
    "worker": "run the background task worker",
    "scheduler": "run the periodic jobs (mailbox polling, the outbox); one per site",
    "mailgate": "store one email read on stdin (for an MTA alias or fetchmail)",
    "smtpd": "receive email over SMTP or LMTP (--bind 127.0.0.1:2525)",
    "sales_import": "import products, prices, terms, invoices or payments from an ERP file",
    "migrate": "create or upgrade the database schema",
    "createsuperuser": "create an administrator account",
    "check": "check the configuration (add --deploy for production)",
    "collectstatic": "gather static files for the web server",
    "shell": "a Python shell with Goodwill loaded",
}


def _usage() -> str:
    width = max(len(name) for name in GOODWILL_COMMANDS)
    lines = [
        "usage: goodwill <command> [options]",
        "",
        "Goodwill: customer and supplier relationship management.",
        "",
        "Common commands:",
        *(f"  {name:<{width}}  {text}" for name, text in GOODWILL_COMMANDS.items()),
        "",
        "Run 'goodwill help <command>' for a command's options, and 'goodwill help'",
        "for every command available (Django's included).",
        "Configuration comes from the environment: see docs/configuration.md.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) == 1 or argv[1] in {"-h", "--help"}:
        print(_usage())
        return
    if argv[1] == "mailgate":
        # Lean on purpose: an MTA starts one process per message.
        from goodwill.mailgate.pipe import main as mailgate

        sys.exit(mailgate(argv[2:]))
    if argv[1] == "demo":
        os.environ.setdefault("GOODWILL_DEMO", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goodwill.settings")
    from django.core.management import execute_from_command_line

    argv[0] = "goodwill"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
