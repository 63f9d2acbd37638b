"""fetchmail and mpop (Debian's, found by `require_tool`) downloading a mailbox of 100
messages byte for byte, leaving it empty when they delete, and never twice when they keep.

Each client gets its configuration from files under tmp_path and a HOME of its own; each
delivers through an MDA that writes every message it is given to a file of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import messages
from tests.support.pop3 import POP3_ARGS, deliver, pop3_address
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles
from tests.support.tools import require_tool

pytestmark = pytest.mark.interop

USER = "you@exemple.fr"
COUNT = 100
COLLECT = textwrap.dedent(
    """
    import os, sys
    folder = sys.argv[1]
    name = os.path.join(folder, "%05d" % len(os.listdir(folder)))
    with open(name, "wb") as out:
        out.write(sys.stdin.buffer.read())
    """
)


def mailbox_of_100(server: ServerProcess) -> list[bytes]:
    """100 messages of varied sizes and lines that need stuffing, as the store holds them."""
    bodies = [
        b"Subject: %d\r\n\r\n.first line\r\n%s..\r\nFrom here\r\n.\r\n"
        % (n, b"x" * 70 + b"\r\n" * (n * 97 % 500))
        for n in range(COUNT)
    ]
    deliver(server, USER, bodies)
    stored = messages(server.store, USER, server_format(server))
    assert len(stored) == COUNT
    return stored


def server_format(server: ServerProcess) -> str:
    return "maildir" if "maildir" in server.args else "mbox"


def collected(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.iterdir())]


def same_messages(got: list[bytes], stored: list[bytes]) -> None:
    """Byte for byte the stored messages (LF lines, as the MDA is given them), in the
    order they were delivered (a Maildir's file names need not sort that way)."""
    assert sorted(got) == sorted(lf(message) for message in stored)
    subjects = [message.split(b"\nSubject: ", 1)[1].split(b"\n", 1)[0] for message in got]
    assert subjects == [b"%d" % n for n in range(len(got))]


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


@pytest.fixture
def client_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


def mda(tmp_path: Path, name: str) -> tuple[Path, str]:
    folder = tmp_path / name
    folder.mkdir()
    script = tmp_path / "collect.py"
    script.write_text(COLLECT)
    return folder, f"{sys.executable} {script} {folder}"


def run(command: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def fetchmail(server: ServerProcess, home: Path, tmp_path: Path, *options: str) -> Path:
    tool = require_tool("fetchmail", "fetchmail")
    folder, command = mda(tmp_path, f"fetched-{len(list(tmp_path.glob('fetched-*')))}")
    _, port = pop3_address(server)
    rc = home / "fetchmailrc"
    rc.write_text(
        f'poll 127.0.0.1 service {port} protocol pop3 user "{USER}" password "x"\n'
        f'  mda "{command}"\n'
    )
    rc.chmod(0o600)
    run(
        [tool, "-f", str(rc), "--nodetach", "--nosyslog", "--invisible", "--sslproto", "",
         "--pidfile", str(home / "pid"), "-i", str(home / "fetchids"), *options],
        home,
    )  # fmt: skip
    return folder


def mpop(
    server: ServerProcess, home: Path, tmp_path: Path, *options: str, port: int | None = None
) -> Path:
    tool = require_tool("mpop", "mpop")
    folder, command = mda(tmp_path, f"popped-{len(list(tmp_path.glob('popped-*')))}")
    port = pop3_address(server)[1] if port is None else port
    config = home / "mpoprc"
    config.write_text(
        "account default\n"
        f"host 127.0.0.1\nport {port}\nuser {USER}\npasswordeval echo x\n"
        "tls off\nauth user\nreceived_header off\n"
        f"uidls_file {home / 'uidls'}\n"
        f"delivery mda {command}\n"
    )
    config.chmod(0o600)
    run([tool, "-C", str(config), *options], home)
    return folder


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_fetchmail_downloads_100_messages_byte_exact_and_deleting_empties_the_mailbox(
    start_server: StartServer, client_home: Path, tmp_path: Path, fmt: str
) -> None:
    server = start_server(*POP3_ARGS, "--format", fmt)
    stored = mailbox_of_100(server)
    folder = fetchmail(server, client_home, tmp_path, "--nokeep", "--fetchall")
    same_messages(collected(folder), stored)
    assert messages(server.store, USER, fmt) == []


def test_fetchmail_keeping_mail_with_uidl_never_downloads_a_message_twice(
    start_server: StartServer, client_home: Path, tmp_path: Path
) -> None:
    server = start_server(*POP3_ARGS)
    stored = mailbox_of_100(server)
    first = fetchmail(server, client_home, tmp_path, "--keep", "--uidl")
    same_messages(collected(first), stored)
    deliver(server, USER, [b"Subject: later\r\n\r\none more\r\n"])
    second = fetchmail(server, client_home, tmp_path, "--keep", "--uidl")
    [later] = collected(second)
    assert later.endswith(b"\n\none more\n")
    assert len(messages(server.store, USER, "mbox")) == COUNT + 1


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_mpop_downloads_100_messages_byte_exact_and_deleting_empties_the_mailbox(
    start_server: StartServer, client_home: Path, tmp_path: Path, fmt: str
) -> None:
    server = start_server(*POP3_ARGS, "--format", fmt)
    stored = mailbox_of_100(server)
    folder = mpop(server, client_home, tmp_path, "--keep=off")
    same_messages(collected(folder), stored)
    assert messages(server.store, USER, fmt) == []


def test_mpop_keeping_mail_downloads_only_what_is_new(
    start_server: StartServer, client_home: Path, tmp_path: Path
) -> None:
    server = start_server(*POP3_ARGS)
    stored = mailbox_of_100(server)
    first = mpop(server, client_home, tmp_path, "--keep=on")
    same_messages(collected(first), stored)
    assert collected(mpop(server, client_home, tmp_path, "--keep=on")) == []
    assert len(messages(server.store, USER, "mbox")) == COUNT


@pytest.mark.parametrize("auth", ["plain", "login", "cram-md5"])
def test_mpop_over_stls_with_each_sasl_mechanism(
    start_server: StartServer, client_home: Path, tmp_path: Path, tls_files: TlsFiles, auth: str
) -> None:
    server = start_server("--pop3-port", "0", "--auth", "any", "--tls-cert", str(tls_files.pem))
    deliver(server, USER, [b"Subject: %d\r\n\r\nover TLS\r\n" % n for n in range(3)])
    stored = messages(server.store, USER, "mbox")
    folder = mpop(
        server, client_home, tmp_path, "--keep=off", "--tls=on", "--tls-starttls=on",
        f"--tls-trust-file={tls_files.ca_pem}", f"--auth={auth}",
    )  # fmt: skip
    same_messages(collected(folder), stored)
    assert f"POP3 authenticated as 'you@exemple.fr' ({auth.upper()})" in server.log_text()
    assert messages(server.store, USER, "mbox") == []


def test_mpop_over_pop3s(
    start_server: StartServer, client_home: Path, tmp_path: Path, tls_files: TlsFiles
) -> None:
    server = start_server("--pop3s-port", "0", "--auth", "any", "--tls-cert", str(tls_files.pem))
    deliver(server, USER, [b"Subject: 0\r\n\r\nTLS from the first byte\r\n"])
    stored = messages(server.store, USER, "mbox")
    _, port = pop3_address(server, implicit_tls=True)
    folder = mpop(
        server, client_home, tmp_path, "--keep=on", "--tls=on", "--tls-starttls=off",
        f"--tls-trust-file={tls_files.ca_pem}", "--auth=plain", port=port,
    )  # fmt: skip
    same_messages(collected(folder), stored)
