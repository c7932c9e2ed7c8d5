"""``goodwill smtpd``: the SMTP (or LMTP) listener that MTAs deliver mail to.

    goodwill smtpd --bind 127.0.0.1:2525 [--lmtp] [--max-size MB]

It refuses recipients that map to no section and stores each accepted message
raw; the worker processes it. It runs until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import signal
import socket
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from goodwill.mailgate.smtpd import smtpd_controller


def parse_bind(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:2525`` for IPv6) as a (host, port) pair."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise CommandError(f"--bind must be HOST:PORT, e.g. 127.0.0.1:2525; got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise CommandError(f"--bind: the port must be a number; got {port_text!r}") from None
    if not 0 < port < 65536:
        raise CommandError(f"--bind: the port must be between 1 and 65535; got {port}")
    return host, port


def check_bindable(host: str, port: int) -> None:
    """Fail at once, in words, when *host*:*port* cannot be listened on (aiosmtpd
    would only say so after its start-up timeout)."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise CommandError(f"Could not listen on {host}:{port}: {exc.strerror or exc}") from exc


class Command(BaseCommand):
    help = "Receive mail over SMTP (or LMTP) for the sections' addresses."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--bind",
            default="127.0.0.1:2525",
            help="HOST:PORT to listen on (default 127.0.0.1:2525).",
        )
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")
        parser.add_argument(
            "--max-size",
            type=int,
            default=None,
            metavar="MB",
            help="Refuse messages larger than this (default: MAILGATE_MAX_MESSAGE_MB, 25).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = parse_bind(options["bind"])
        max_mb = options["max_size"]
        if max_mb is None:
            max_mb = getattr(settings, "MAILGATE_MAX_MESSAGE_MB", 25)
        if max_mb < 1:
            raise CommandError(f"--max-size must be at least 1 (MB); got {max_mb}")
        check_bindable(host, port)
        controller = smtpd_controller(host, port, lmtp=options["lmtp"], max_size=max_mb * 1024**2)
        try:
            controller.start()
        except OSError as exc:  # TimeoutError included: aiosmtpd's start-up timeout
            raise CommandError(f"Could not listen on {host}:{port}: {exc.strerror or exc}") from exc
        protocol = "LMTP" if options["lmtp"] else "SMTP"
        self.stdout.write(
            f"Listening for {protocol} on {host}:{port} (messages up to {max_mb} MB). "
            "Stop with Ctrl-C or SIGTERM."
        )
        stop = threading.Event()
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread:  # signal handlers can only be set there
            previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
            controller.stop()
        self.stdout.write("Stopped.")
