"""The email gateway's throughput, pipe start-up and memory.

    python -m bench.mailgate --database sqlite
    python -m bench.mailgate --database postgres

1. **Pipeline:** every message of the SpamAssassin easy-ham-1 corpus (2,500)
   goes through the whole pipeline in this one process: store the raw bytes,
   parse, route, thread, create or update the case, timeline, events (the rules
   hook) and the queued acknowledgement, stored 100 at a time and processed as
   the worker does, in batches. The baseline, timed in the same run, is
   a bare stdlib parse of the same bytes (``email.message_from_bytes`` with
   ``policy.default``, the usual headers and the body). Targets: 200 msgs/s on
   PostgreSQL, and at least 15% of the bare-parse rate.
2. **Pipe:** ``goodwill mailgate --url`` as an MTA runs it, one process per
   message, posting to a gunicorn started here. Target: 10 msgs/s. The direct
   mode (no URL: Django starts in the pipe) is shown for comparison.
3. **Memory:** a 25 MB message with attachments, stored and processed; the
   Python peak (tracemalloc) against the message size. Target: under 4x.

Each run starts from an empty database of its own (``var/bench-mail.sqlite3``
or ``goodwill_bench_mail``), so results do not depend on an earlier run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "email" / "spamassassin" / "easy-ham-1"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/goodwill_bench_mail")
TOKEN = "bench-mailgate-token"  # noqa: S105 - a throwaway secret for the local server


def _setup(database: str) -> str:
    if database == "sqlite":
        path = ROOT / "var" / "bench-mail.sqlite3"
        path.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute('DROP DATABASE IF EXISTS "goodwill_bench_mail" WITH (FORCE)')
            conn.execute('CREATE DATABASE "goodwill_bench_mail"')
        url = PG_URL
    media = tempfile.mkdtemp(prefix="goodwill-bench-media-")
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="goodwill.settings",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        MEDIA_ROOT=media,
        EMAIL_URL="dummy:",
        MAILGATE_TOKEN=TOKEN,
        MAILGATE_AUTO_PER_HOUR="1000000",
        LOG_LEVEL="ERROR",
    )
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return url


def _corpus() -> list[bytes]:
    if not CORPUS.is_dir():
        sys.exit(
            f"The corpus is missing: {CORPUS} (../shared/corpora must sit beside the checkout)"
        )
    return [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.is_file()]


def bare_parse(messages: list[bytes]) -> float:
    """Seconds for the stdlib alone: parse, the usual headers, the body text."""
    started = time.perf_counter()
    for raw in messages:
        msg = message_from_bytes(raw, policy=policy.default)
        for name in ("subject", "from", "to", "cc", "message-id", "in-reply-to", "references"):
            try:
                msg.get(name)
            except Exception:  # noqa: S112 - broken headers count as read
                continue
        try:
            body = msg.get_body(preferencelist=("plain", "html"))
            if body is not None:
                body.get_content()
        except Exception:  # noqa: S110 - a broken body counts as read
            pass
    return time.perf_counter() - started


def pipeline(messages: list[bytes], *, one_by_one: bool = False) -> tuple[float, dict[str, int]]:
    from goodwill.cases.models import Section
    from goodwill.mailgate.batch import BATCH_SIZE, inbound_process_many
    from goodwill.mailgate.inbound import inbound_receive
    from goodwill.mailgate.models import InboundMessage
    from goodwill.mailgate.pipeline import inbound_process

    section, _ = Section.objects.get_or_create(
        code="SUPPORT", defaults={"name": "Support", "email": "support@bench.example"}
    )
    started = time.perf_counter()
    if one_by_one:
        for raw in messages:
            received = inbound_receive(
                raw, via=InboundMessage.Source.PIPE, section=section, enqueue=False
            )
            inbound_process(received.message)
    else:
        # As the worker runs: the doors store what arrives, and each task drains
        # what is waiting, oldest first, in batches.
        for start in range(0, len(messages), BATCH_SIZE):
            stored = [
                inbound_receive(
                    raw, via=InboundMessage.Source.PIPE, section=section, enqueue=False
                ).message
                for raw in messages[start : start + BATCH_SIZE]
            ]
            inbound_process_many(stored)
    took = time.perf_counter() - started
    outcomes = {
        status: InboundMessage.objects.filter(status=status).count()
        for status, _label in InboundMessage.Status.choices
    }
    return took, outcomes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pipe(messages: list[bytes], *, count: int, direct_count: int) -> tuple[float, float]:
    """msgs/s of ``goodwill mailgate --url`` (one process each), and of the direct mode."""
    goodwill = shutil.which("goodwill", path=os.path.dirname(sys.executable)) or "goodwill"
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own executables
        [gunicorn, "goodwill.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        env = {**os.environ, "GOODWILL_MAILGATE_TOKEN": TOKEN}
        url = f"http://127.0.0.1:{port}/"
        batch = messages[-count:]
        started = time.perf_counter()
        for raw in batch:
            done = subprocess.run(  # noqa: S603
                [goodwill, "mailgate", "--section", "SUPPORT", "--url", url],
                input=raw,
                env=env,
                capture_output=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"goodwill mailgate failed: {done.stderr.decode()}")
        via_url = len(batch) / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=10)
    batch = [raw.replace(b"Subject:", b"Subject: direct", 1) for raw in messages[:direct_count]]
    started = time.perf_counter()
    for raw in batch:
        subprocess.run(  # noqa: S603
            [goodwill, "mailgate", "--section", "SUPPORT"],
            input=raw,
            capture_output=True,
            check=True,
        )
    direct = len(batch) / (time.perf_counter() - started)
    return via_url, direct


def big_message(size_mb: int) -> bytes:
    """A multipart message of about *size_mb* MB: text, HTML and three attachments."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Big Sender <big@customer.example>"
    message["To"] = "support@bench.example"
    message["Subject"] = "Scans of the damaged delivery"
    message["Message-ID"] = "<big-message@customer.example>"
    message.set_content("The scans are attached.\n" * 100)
    message.add_alternative("<p>The scans are attached.</p>" * 100, subtype="html")
    # base64 grows data by 4/3: three attachments of a quarter of the size each.
    part = size_mb * 1024 * 1024 * 3 // 4 // 3
    for n in range(3):
        message.add_attachment(
            os.urandom(part), maintype="application", subtype="pdf", filename=f"scan-{n}.pdf"
        )
    return message.as_bytes()


def memory(size_mb: int) -> tuple[int, int, str]:
    """(message bytes, Python peak bytes while storing and processing it, outcome)."""
    from django.conf import settings

    from goodwill.mailgate.inbound import inbound_receive
    from goodwill.mailgate.models import InboundMessage
    from goodwill.mailgate.pipeline import inbound_process

    settings.CASE_ATTACHMENT_MAX_MB = max(settings.CASE_ATTACHMENT_MAX_MB, size_mb)
    raw = big_message(size_mb)
    size = len(raw)
    path = Path(tempfile.mkdtemp()) / "big.eml"
    path.write_bytes(raw)
    del raw
    tracemalloc.start()
    with path.open("rb") as source:
        received = inbound_receive(source, via=InboundMessage.Source.PIPE, enqueue=False)
    message = inbound_process(received.message)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    path.unlink()
    return size, peak, f"{message.status}: {message.reason}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pipe-count", type=int, default=200, help="messages through the pipe")
    parser.add_argument("--direct-count", type=int, default=20, help="messages, direct mode")
    parser.add_argument("--memory-mb", type=int, default=25)
    parser.add_argument("--skip-pipe", action="store_true")
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="process each message as it is stored, without batches (for comparison)",
    )
    args = parser.parse_args()

    url = _setup(args.database)
    messages = _corpus()
    print(f"Email gateway benchmark on {args.database} ({url.split('@')[-1]})")
    print(f"Corpus: {len(messages)} messages of easy-ham-1, {sum(map(len, messages)) / 1e6:.1f} MB")

    bare = bare_parse(messages)
    took, outcomes = pipeline(messages, one_by_one=args.one_by_one)
    bare_rate = len(messages) / bare
    rate = len(messages) / took
    ratio = rate / bare_rate
    print()
    print(f"  bare stdlib parse      {bare_rate:10.0f} msgs/s")
    mode = "one by one" if args.one_by_one else "in batches"
    print(f"  full pipeline          {rate:10.0f} msgs/s   ({took:.1f} s, {mode})")
    print(f"  pipeline / bare parse  {ratio:10.1%}   (target >= 15%)")
    target = 200 if args.database == "postgres" else None
    if target:
        print(
            f"  verdict                {'OK' if rate >= target else 'SLOW'}"
            f" (target >= {target} msgs/s)"
        )
    print("  outcomes               " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    from goodwill.cases.models import Case, OutboundMessage

    print(
        f"  cases {Case.objects.count()}, acknowledgements queued "
        f"{OutboundMessage.objects.filter(kind='ack').count()}"
    )

    if not args.skip_pipe:
        via_url, direct = pipe(messages, count=args.pipe_count, direct_count=args.direct_count)
        print()
        print(f"  goodwill mailgate --url  {via_url:6.1f} msgs/s, one process each (target >= 10)")
        print(
            f"  goodwill mailgate        {direct:6.1f} msgs/s,"
            " direct to the database (Django starts)"
        )

    size, peak, outcome = memory(args.memory_mb)
    print()
    print(
        f"  {size / 1e6:.1f} MB message: Python peak {peak / 1e6:.1f} MB = {peak / size:.2f}x "
        f"the message (target < 4x); {outcome}"
    )


if __name__ == "__main__":
    main()
