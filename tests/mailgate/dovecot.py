"""A real IMAP server for the IMAP tests: Debian's Dovecot, run privately.

``dovecot`` (a session fixture) starts ``/usr/sbin/dovecot -F`` with a config of
its own in a temporary directory: its own base_dir, state and log, listening on
127.0.0.1 on a free port (never 143 or 993), plaintext logins allowed, one user
``goodwill`` with password ``test-secret`` from a passwd-file, and Maildirs under
the temporary directory. It never touches a system Dovecot or systemd.

Dovecot refuses to give mail access as uid 0, so when the tests run as root the
mail is owned by the ``mail`` user (which Debian always has) and the directory is
made traversable for it; the internal and login processes run as Dovecot's own
``dovecot`` and ``dovenull`` users, which the package creates. Run as another
user, everything runs as that user.

Without Dovecot the IMAP tests are skipped, unless ``GOODWILL_REQUIRE_DOVECOT=1``
(CI), where they fail and say why.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
USER = "goodwill"
PASSWORD = "test-secret"
START_TIMEOUT = 15  # seconds


def dovecot_required() -> bool:
    return os.environ.get("GOODWILL_REQUIRE_DOVECOT", "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    log_path: Path

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Put *raw* in *folder* (created if missing); return its UID."""
        conn = self.connect()
        try:
            conn.create(_quote(folder))  # NO when it exists: fine
            typ, data = conn.append(_quote(folder), None, None, raw)
            assert typ == "OK", data
            # "[APPENDUID <uidvalidity> <uid>] Append completed."
            return int(data[0].split(b"]")[0].split()[-1])
        finally:
            conn.logout()

    def uids(self, folder: str = "INBOX", criteria: str = "ALL") -> list[int]:
        conn = self.connect()
        try:
            typ, data = conn.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = conn.uid("SEARCH", criteria)
            return [int(uid) for uid in (data[0] or b"").split()]
        finally:
            conn.logout()

    def delete_folder(self, folder: str) -> None:
        conn = self.connect()
        try:
            conn.delete(_quote(folder))
        finally:
            conn.logout()

    def log(self) -> str:
        paths = [self.log_path, self.log_path.with_name("stderr.log")]
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accounts() -> tuple[int, int, str, str]:
    """(mail uid, mail gid, internal user, login user) for the current process."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return os.getuid(), os.getgid(), me, me
    mail = pwd.getpwnam("mail")
    return mail.pw_uid, mail.pw_gid, "dovecot", "dovenull"


def _config(root: Path, port: int) -> str:
    uid, gid, internal, login = _accounts()
    group = grp.getgrgid(os.getgid()).gr_name if os.getuid() != 0 else "dovecot"
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
# No growing delay after the wrong-password tests (anvil's auth penalty).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _wait_for_port(process: subprocess.Popen[bytes], port: int, server: Dovecot) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with status {process.returncode}:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on port {port} in {START_TIMEOUT} s")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot on 127.0.0.1 with one user; stopped after the session."""
    if not os.access(DOVECOT, os.X_OK):
        if dovecot_required():
            pytest.fail(
                f"{DOVECOT} is missing and GOODWILL_REQUIRE_DOVECOT is set: "
                "apt-get install dovecot-imapd",
                pytrace=False,
            )
        pytest.skip(
            "dovecot is not installed (apt-get install dovecot-imapd): "
            "the IMAP tests need a real server"
        )
    root = Path(tempfile.mkdtemp(prefix="goodwill-dovecot-"))
    uid, gid, _internal, _login = _accounts()
    root.chmod(0o755)  # the mail user must reach its home
    for name in ("run", "state", "home"):
        (root / name).mkdir()
    if os.getuid() == 0:
        os.chown(root / "home", uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    server = Dovecot("127.0.0.1", port, USER, PASSWORD, root / "dovecot.log")
    with (root / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(process, port, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
