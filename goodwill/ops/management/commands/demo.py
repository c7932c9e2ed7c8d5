"""``goodwill demo``: a working Goodwill on this machine, in one command.

Migrates the database, loads the demo data once (a second run reuses it), then
runs the web server, the worker and the scheduler side by side until Ctrl-C.
Outgoing mail stays on this machine (EMAIL_URL=local:): administrators read it
under Email → Local mail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from goodwill.accounts.demo import DEMO_PASSWORD, DEMO_USERS, demo_users_load


class Command(BaseCommand):
    help = "Migrate, load the demo data (once), and run the web server and the worker."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--load-only",
            action="store_true",
            help="Migrate and load the demo data, then exit without serving.",
        )
        parser.add_argument("--seed", type=int, default=2026, help="Seed of the demo data.")

    def handle(
        self, *args: Any, host: str, port: int, load_only: bool, seed: int, **opts: Any
    ) -> None:
        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        started = time.monotonic()
        loaded = self.load(seed=seed)
        if loaded:
            self.stdout.write(f"Demo data loaded in {time.monotonic() - started:.1f}s.")
        else:
            self.stdout.write("Demo data already present; reusing it.")
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        if load_only:
            self.print_logins(None)
            return
        self.serve(host=host, port=port)

    def load(self, *, seed: int) -> bool:
        from goodwill.automation.demo import demo_automation_load, demo_automation_present
        from goodwill.cases.demo import demo_cases_load, demo_cases_present
        from goodwill.mailgate.demo import demo_mail_load, demo_mail_present
        from goodwill.partners.demo import demo_partners_load, demo_partners_present
        from goodwill.sales.demo import demo_sales_load, demo_sales_present

        loaded = False
        with transaction.atomic():
            users = demo_users_load()
            if not demo_partners_present():
                demo_partners_load(users=users, seed=seed)
                loaded = True
            if not demo_cases_present():
                demo_cases_load(users=users, seed=seed)
                loaded = True
            if not demo_mail_present():
                demo_mail_load(users=users)
                loaded = True
        # The rules come in a second transaction: events reach the rules engine
        # when their transaction commits, and the demo's history must not be
        # replayed through rules that did not exist when it happened.
        with transaction.atomic():
            if not demo_automation_present():
                demo_automation_load(users=users)
                loaded = True
            if not demo_sales_present():
                demo_sales_load(users=users, seed=seed)
                loaded = True
            from goodwill.sales.layout import demo_layout_load, demo_layout_present

            if not demo_layout_present():
                demo_layout_load()
                loaded = True
        return loaded

    def print_logins(self, url: str | None) -> None:
        lines = ["", "=" * 64]
        if url:
            lines.append(f"  Goodwill is running at {url}")
        lines.append(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _, _, _, what in DEMO_USERS:
            lines.append(f"    {username:<8} {what}")
        if url:
            lines.append("  Mail goes to the local mailbox (Email → Local mail, for alice); try")
            lines.append("  Email → Simulate incoming mail, or goodwill mailgate.")
            lines.append("  Press Ctrl-C to stop the web server, the worker and the scheduler.")
        lines.append("=" * 64)
        self.stdout.write("\n".join(lines))

    def serve(self, *, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise CommandError(
                    f"Port {port} on {host} is in use. Stop what uses it, "
                    f"or run with PORT=8001 (make demo PORT=8001)."
                ) from None

        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
        env = {**os.environ, "GOODWILL_DEMO": "1"}
        web = subprocess.Popen(  # noqa: S603 - our own executable and arguments
            [
                gunicorn,
                "goodwill.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--error-logfile",
                "-",
            ],
            env=env,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "goodwill.cli", "worker", "--no-startup-delay"], env=env
        )
        scheduler = subprocess.Popen([sys.executable, "-m", "goodwill.cli", "scheduler"], env=env)
        children = [web, worker, scheduler]
        url_host = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host  # noqa: S104
        self.print_logins(f"http://{url_host}:{port}/")

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        # Explicitly, since a shell starting us in the background may have set
        # SIGINT to "ignore" and Python then keeps it so.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            failed = next(child for child in children if child.poll() is not None)
            name = {id(web): "web server", id(worker): "worker"}.get(id(failed), "scheduler")
            raise CommandError(f"The {name} stopped (exit code {failed.returncode}).")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
