"""Run a private Postfix on loopback as a relay target, and stop it for sure.

Its own `config_directory`, `queue_directory` and `data_directory` sit in one temporary
directory; the system's Postfix is never written to or started (of `/etc/postfix` only
the package's own `postfix-files` and `dynamicmaps.cf` are read). smtpd listens on
127.0.0.1 on a free port (master.cf names it), and every recipient, in any domain, is
delivered by Postfix's own `virtual(8)` agent to the Maildir `mail/inbox/`, each copy
with its `Delivered-To:`: a real Postfix delivery, through cleanup and the queue
manager, with nothing relayed onwards. Its log goes to a file (`postlogd`), not to
syslog.

Postfix's master must start as root (it drops to `mail_owner`, the `postfix` user, for
its daemons), so the directory is made readable by that user; as another user the test
is skipped loudly (and fails under CI=true, as a missing tool does).

STARTTLS is offered when `tls` is given (the trustme files of `tests/support/tls.py`).
AUTH (PLAIN and LOGIN over Cyrus SASL's `sasldb`, no daemon) when `auth` is given, which
needs `saslpasswd2` (Debian's `sasl2-bin`) to write the password database.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest

from tests.support.ports import free_port
from tests.support.processes import session_pids
from tests.support.tls import TlsFiles
from tests.support.tools import in_ci, require_tool

HOSTNAME = "upstream.test"
MAIL_OWNER = "postfix"

# The services a delivery goes through, none chrooted (a chroot would need copies of
# /etc files inside the queue directory). The first line is the smtpd, filled in.
_MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def require_postfix() -> tuple[str, str]:
    """The `postfix` and `postconf` commands; skip (fail under CI) when they cannot run."""
    postfix = require_tool("postfix", "postfix")
    postconf = require_tool("postconf", "postfix")
    problem = None
    if os.geteuid() != 0:
        problem = "Postfix's master must start as root"
    else:
        try:
            pwd.getpwnam(MAIL_OWNER)
        except KeyError:
            problem = f"there is no {MAIL_OWNER!r} user (the postfix package makes it)"
    if problem is not None:
        message = f"a private Postfix cannot run here: {problem}"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(f"SKIPPED LOUDLY: {message}")
    return postfix, postconf


class PostfixProcess:
    """A private Postfix on 127.0.0.1:`port` that keeps every message it is given.

    `start()` writes its configuration and starts it; `stop()` stops it (`postfix stop`,
    then SIGKILL to every process of its master's session) and removes the directory.
    """

    def __init__(
        self,
        *,
        tls: TlsFiles | None = None,
        auth: tuple[str, str] | None = None,
        options: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.postfix, self.postconf = require_postfix()
        self.saslpasswd = require_tool("saslpasswd2", "sasl2-bin") if auth else None
        self.tls = tls
        self.auth = auth
        self.options = dict(options or {})
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="postier-postfix-"))
        # The daemons run as `postfix`: they must reach every directory below.
        self.root.chmod(0o755)
        self.conf = self.root / "conf"
        self.queue = self.root / "queue"
        self.data = self.root / "data"
        self.mail = self.root / "mail"
        self.maillog = self.root / "maillog"
        self.master_pid: int | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def relay(self) -> str:
        """The upstream as `--relay` wants it."""
        return f"{self.host}:{self.port}"

    # --- configuration ----------------------------------------------------------------

    def _settings(self) -> dict[str, str]:
        owner = pwd.getpwnam(MAIL_OWNER)
        settings = {
            "compatibility_level": "3.6",
            "config_directory": str(self.conf),
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "mail_owner": MAIL_OWNER,
            "setgid_group": _setgid_group(),
            "myhostname": HOSTNAME,
            "mydomain": HOSTNAME,
            "myorigin": HOSTNAME,
            "mydestination": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_peername_lookup": "no",
            # Mail from loopback is "local" by default, and cleanup would add the headers
            # it finds missing (Date, Message-ID) and rewrite addresses: none of that here.
            "local_header_rewrite_clients": "",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "notify_classes": "",
            "smtpd_banner": "$myhostname ESMTP",
            "virtual_mailbox_domains": f"regexp:{self.conf / 'domains'}",
            "virtual_mailbox_base": str(self.mail),
            # One Maildir for every address (virtual(8) allows no pattern that would
            # name one per address): each copy's `Delivered-To:` says whose it is.
            "virtual_mailbox_maps": "static:inbox/",
            "virtual_uid_maps": f"static:{owner.pw_uid}",
            "virtual_gid_maps": f"static:{owner.pw_gid}",
            "virtual_minimum_uid": str(owner.pw_uid),
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.root),
        }
        if self.tls is not None:
            settings |= {
                "smtpd_tls_security_level": "may",
                "smtpd_tls_chain_files": str(self.tls.pem),
                "smtpd_tls_loglevel": "1",
            }
        if self.auth is not None:
            settings |= {
                "smtpd_sasl_auth_enable": "yes",
                "smtpd_sasl_type": "cyrus",
                "smtpd_sasl_path": "smtpd",
                "cyrus_sasl_config_path": str(self.conf / "sasl"),
                "smtpd_sasl_security_options": "noanonymous",
                # Not in mynetworks: only an authenticated client may relay, so that a
                # failed AUTH shows in what arrives.
                "mynetworks": "127.0.0.2/32",
                "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
            }
            if self.tls is not None:
                settings["smtpd_tls_auth_only"] = "yes"
        return settings | self.options

    def _write_config(self) -> None:
        for directory in (self.conf, self.queue, self.data, self.mail):
            directory.mkdir(mode=0o755)
        owner = pwd.getpwnam(MAIL_OWNER)
        for directory in (self.data, self.mail):
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        main = "".join(f"{key} = {value}\n" for key, value in self._settings().items())
        (self.conf / "main.cf").write_text(main)
        master = _MASTER_CF.format(listen=f"{self.host}:{self.port}")
        (self.conf / "master.cf").write_text(master)
        # Every domain is ours.
        (self.conf / "domains").write_text("/./ ok\n")
        if self.auth is not None:
            self._write_sasl(*self.auth)

    def _write_sasl(self, user: str, password: str) -> None:
        assert self.saslpasswd is not None
        database = self.data / "sasldb2"  # the postfix user's, as the data directory
        # Debian's Postfix looks in `$config_directory/sasl` whatever
        # cyrus_sasl_config_path says; upstream's in cyrus_sasl_config_path: both.
        sasl = self.conf / "sasl"
        sasl.mkdir(mode=0o755)
        (sasl / "smtpd.conf").write_text(
            "pwcheck_method: auxprop\n"
            "auxprop_plugin: sasldb\n"
            f"sasldb_path: {database}\n"
            "mech_list: PLAIN LOGIN\n"
        )
        subprocess.run(
            [self.saslpasswd, "-f", str(database), "-c", "-p", "-u", HOSTNAME, user],
            input=password.encode(),
            check=True,
            capture_output=True,
            timeout=30,
        )
        owner = pwd.getpwnam(MAIL_OWNER)
        os.chown(database, owner.pw_uid, owner.pw_gid)
        database.chmod(0o600)

    # --- running ----------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> PostfixProcess:
        """Write the configuration (first start only), start Postfix, wait for its 220."""
        if not (self.conf / "main.cf").exists():
            self._write_config()
        self._postfix("start")
        self.master_pid = self._read_master_pid(timeout)
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                if _greeting(self.address, 2.0).startswith(b"220"):
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Postfix did not greet within {timeout}s:\n{self.log_text()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 20.0) -> None:
        """`postfix stop`, then SIGKILL to whatever of its session is left; the directory stays
        (`close()` removes it), so that a restart finds its queue."""
        if self.master_pid is None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._postfix("stop")
        deadline = time.monotonic() + timeout
        while _alive(self.master_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in session_pids(self.master_pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while session_pids(self.master_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.master_pid = None

    def close(self) -> None:
        """Stop it, and remove its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _postfix(self, command: str) -> None:
        result = subprocess.run(
            [self.postfix, "-c", str(self.conf), command],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"postfix {command} failed ({result.returncode}):\n"
                f"{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}"
                f"\n{self.log_text()}"
            )

    def _read_master_pid(self, timeout: float) -> int:
        path = self.queue / "pid" / "master.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                return int(path.read_text().split()[0])
            time.sleep(0.05)
        raise RuntimeError(f"Postfix wrote no {path}:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # --- what arrived -----------------------------------------------------------------

    def messages(self) -> list[tuple[str, bytes]]:
        """Every copy delivered, oldest first, with the address its `Delivered-To:` names."""
        new = self.mail / "inbox" / "new"
        try:
            names = sorted(os.listdir(new), key=_delivery_order)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            data = (new / name).read_bytes()
            found.append((_delivered_to(data), data))
        return found

    def delivered(self, recipient: str) -> list[bytes]:
        """The copies delivered to `recipient`, oldest first."""
        wanted = recipient.lower()
        return [data for address, data in self.messages() if address == wanted]

    def count(self) -> int:
        """How many copies were delivered, to every address (without reading them)."""
        try:
            return len(os.listdir(self.mail / "inbox" / "new"))
        except FileNotFoundError:
            return 0

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 20.0) -> list[bytes]:
        """Poll until `recipient` has `count` messages; those messages."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.delivered(recipient)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{recipient}: {len(found)} of {count} messages within {timeout}s;"
                    f" Postfix's log:\n{self.log_text()[-4000:]}"
                )
            time.sleep(0.05)

    def wait_for_log(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in Postfix's log within {timeout}s:\n{text}")
            time.sleep(0.05)

    def __enter__(self) -> PostfixProcess:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _setgid_group() -> str:
    try:
        return grp.getgrnam("postdrop").gr_name
    except KeyError:
        return MAIL_OWNER


def _delivery_order(name: str) -> tuple[int, int, str]:
    """Maildir names start `seconds.Mmicroseconds...`: in the order they were written."""
    match = re.match(r"(\d+)\.M(\d+)", name)
    if match is None:
        return (0, 0, name)
    return (int(match[1]), int(match[2]), name)


def _delivered_to(data: bytes) -> str:
    """The address of the first `Delivered-To:` (virtual(8) writes it first)."""
    match = re.search(rb"^Delivered-To: *(\S+?) *\r?$", data, re.MULTILINE | re.IGNORECASE)
    return match[1].decode().lower() if match else ""


def _greeting(address: tuple[str, int], timeout: float) -> bytes:
    with socket.create_connection(address, timeout=timeout) as sock:
        line = b""
        while not line.endswith(b"\n"):
            data = sock.recv(4096)
            if not data:
                break
            line += data
        with contextlib.suppress(OSError):
            sock.sendall(b"QUIT\r\n")
            sock.recv(4096)
        return line


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
