"""``goodwill mailgate``: deliver one message from stdin, for an MTA alias or
fetchmail's ``mda``.

Two ways to store it:

* ``--url https://crm.example.com/`` (or ``GOODWILL_MAILGATE_URL``) posts the
  message to the web server, like Request Tracker's rt-mailgate. This process
  imports only the standard library, so an MTA can run one per message (the
  token is ``GOODWILL_MAILGATE_TOKEN`` or ``--token-file``; the server's
  ``MAILGATE_TOKEN`` must match).
* without a URL, it stores the message in the database itself (Django starts
  in this process: slower, but needs no web server).

Exit codes follow sysexits.h, which MTAs understand: 0 stored (or already
stored), 75 temporary failure (the MTA keeps the message and retries: the
database or the web server is down), 65 only when nothing could be stored
(an empty input), 64 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import BinaryIO

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_TEMPFAIL = 75
EX_CONFIG = 78


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goodwill mailgate",
        description="Store one email message read on stdin in Goodwill.",
    )
    parser.add_argument(
        "--section",
        default="",
        help="code of the section that receives new cases (default: from the recipient)",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("GOODWILL_MAILGATE_URL", ""),
        help="post to this Goodwill web server instead of opening the database",
    )
    parser.add_argument(
        "--token-file",
        default="",
        help="file holding the server's MAILGATE_TOKEN (default: $GOODWILL_MAILGATE_TOKEN)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the web server"
    )
    return parser


def _read(stream: BinaryIO) -> bytes:
    return stream.read()


def _post(raw: bytes, *, url: str, section: str, token: str, timeout: float) -> int:
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    endpoint = url.rstrip("/") + "/mail/inbound/pipe/"
    if section:
        endpoint += "?" + urllib.parse.urlencode({"section": section})
    request = urllib.request.Request(  # noqa: S310 - the administrator's own server
        endpoint,
        data=raw,
        method="POST",
        headers={"Content-Type": "message/rfc822", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        print(f"goodwill mailgate: the server answered {exc.code}: {detail}", file=sys.stderr)
        if exc.code in {401, 403, 404}:
            return EX_CONFIG
        return EX_TEMPFAIL if exc.code >= 500 or exc.code == 429 else EX_DATAERR
    except (OSError, ValueError) as exc:
        print(f"goodwill mailgate: cannot reach {endpoint}: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    state = "stored" if answer.get("created") else "already stored"
    print(f"goodwill mailgate: {state} as inbound #{answer.get('id')}", file=sys.stderr)
    return EX_OK


def _store_directly(raw: bytes, *, section_code: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goodwill.settings")
    try:
        import django

        django.setup()
        from django.db import DatabaseError

        from goodwill.cases.models import Section
        from goodwill.mailgate.inbound import inbound_receive
        from goodwill.mailgate.models import InboundMessage

        section = None
        if section_code:
            section = Section.objects.filter(code__iexact=section_code).first()
            if section is None:
                print(
                    f"goodwill mailgate: no section has the code {section_code!r}; "
                    "the message is stored and will be routed by its recipient",
                    file=sys.stderr,
                )
        received = inbound_receive(raw, via=InboundMessage.Source.PIPE, section=section)
    except DatabaseError as exc:
        print(f"goodwill mailgate: the database is unavailable: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except OSError as exc:
        print(f"goodwill mailgate: cannot store the message: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    state = "stored" if received.created else "already stored"
    print(f"goodwill mailgate: {state} as inbound #{received.message.pk}", file=sys.stderr)
    return EX_OK


def main(argv: list[str], stdin: BinaryIO | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EX_OK if exc.code == 0 else EX_USAGE
    raw = _read(stdin or sys.stdin.buffer)
    if not raw.strip():
        print("goodwill mailgate: the input is empty; nothing to store", file=sys.stderr)
        return EX_DATAERR
    if args.url:
        token = os.environ.get("GOODWILL_MAILGATE_TOKEN", "")
        if args.token_file:
            try:
                with open(args.token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except OSError as exc:
                print(f"goodwill mailgate: cannot read the token file: {exc}", file=sys.stderr)
                return EX_TEMPFAIL
        if not token:
            print(
                "goodwill mailgate: --url needs a token ($GOODWILL_MAILGATE_TOKEN or --token-file)",
                file=sys.stderr,
            )
            return EX_CONFIG
        return _post(raw, url=args.url, section=args.section, token=token, timeout=args.timeout)
    return _store_directly(raw, section_code=args.section)
