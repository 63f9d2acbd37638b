"""`postier serve --explain` against real clients: the narration on standard output, in
the language asked for or the locale's, the mail still served, no password shown."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from postier.explain.parts import LABELS, Part
from tests.support.server import ServerProcess

PASSWORD = "pw-never-shown-42"
UNSET_LOCALE = {"LC_ALL": "", "LC_MESSAGES": ""}


def told(server: ServerProcess) -> list[str]:
    """The narrated lines of the server's output (its log lines start with a date)."""
    return [line for line in server.log_text().splitlines() if line.startswith("[")]


def typed(address: tuple[str, int], lines: list[bytes]) -> bytes:
    """Lines sent one at a time as a person types them into nc, and what came back."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.settimeout(10)
        heard = sock.recv(4096)
        for line in lines:
            sock.sendall(line)
            heard += sock.recv(65536)
        return heard


def wait_for(server: ServerProcess, needle: str) -> None:
    server.wait_for_log(needle, timeout=10)


@pytest.mark.parametrize(
    ("args", "env", "language"),
    [
        (("--lang", "fr"), {"LANG": "en_US.UTF-8"}, "fr"),
        (("--lang", "en"), {"LANG": "fr_FR.UTF-8"}, "en"),
        ((), {"LANG": "fr_FR.UTF-8"}, "fr"),
        ((), {"LANG": "C.UTF-8"}, "en"),
    ],
)
def test_a_typed_session_is_told_in_the_language(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], language: str
) -> None:
    store = tmp_path / "store"
    with ServerProcess(store, "--explain", *args, env={**UNSET_LOCALE, **env}) as server:
        heard = typed(
            server.address,
            [b"EHLO nc.test\n", b"RCPT TO:<bob@exemple.fr>\r\n",
             b"MAIL FROM:<alice@exemple.fr>\r\n", b"RCPT TO:<bob@exemple.fr>\r\n",
             b"DATA\r\n", b"Subject: hi\r\n\r\nhello\r\n.\r\n", b"QUIT\r\n"],
        )  # fmt: skip
        assert b"250 2.0.0 Ok: stored" in heard
        wait_for(server, "[terminus]")
        lines = told(server)
    labels = LABELS[language]  # type: ignore[index]
    firsts = [line.split()[0] for line in lines]
    expected = {f"[{label}]" for label in labels.values()}
    assert set(firsts) <= expected
    assert len(set(firsts)) == 7  # the seven parts of the server, each in its words
    assert firsts[0] == f"[{labels[Part.LISTENER]}]"
    assert firsts[-1] == f"[{labels[Part.TERMINUS]}]"
    text = "\n".join(lines)
    assert "C: RCPT TO:<bob@exemple.fr>" in text and "S: 503 5.5.1" in text
    assert "RFC 5321 §4.1.4" in text
    assert "nc -C" in text  # the bare LF of the EHLO line
    assert str(store / "bob@exemple.fr.mbox") in text
    assert (store / "bob@exemple.fr.mbox").exists()


def test_a_login_is_told_without_its_password(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with ServerProcess(
        store, "--explain", "--lang", "en", "--auth", "any", "--auth-insecure", env=UNSET_LOCALE
    ) as server:
        with smtplib.SMTP(*server.address, timeout=10) as client:
            client.login("alice", PASSWORD)
            client.sendmail("alice@exemple.fr", ["bob@exemple.fr"], b"Subject: x\r\n\r\nbody\r\n")
        wait_for(server, "[terminus]")
        text = "\n".join(told(server))
        log = server.log_text()
    assert "AUTH" in text
    assert PASSWORD not in log
    assert "C: AUTH " in text and "****" in text


def test_without_explain_nothing_is_told(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "store", env=UNSET_LOCALE) as server:
        with smtplib.SMTP(*server.address, timeout=10) as client:
            client.sendmail("a@exemple.fr", ["b@exemple.fr"], b"Subject: x\r\n\r\nbody\r\n")
        server.wait_for_log("closed after")
        assert told(server) == []


@pytest.mark.parametrize(
    ("language", "first", "allows"),
    [("fr", "[écrivain]", "354 permet les données"), ("en", "[writer]", "354 allows the data")],
)
def test_send_explain_tells_the_clients_parts(
    tmp_path: Path, language: str, first: str, allows: str
) -> None:
    with ServerProcess(
        tmp_path / "store", "--auth", "any", "--auth-insecure", env=UNSET_LOCALE
    ) as server:
        host, port = server.address
        done = subprocess.run(
            [sys.executable, "-m", "postier", "send", "--server", f"{host}:{port}",
             "--from", "alice@exemple.fr", "--to", "bob@exemple.fr", "--subject", "Bonjour",
             "--body", "une ligne", "--auth-user", "alice", "--auth-password", PASSWORD,
             "--explain", "--lang", language],
            check=False, capture_output=True, text=True, timeout=30,
            env={**os.environ, **UNSET_LOCALE},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    labels = {f"[{label}]" for label in LABELS[language].values()}  # type: ignore[index]
    told = [line for line in lines if line.startswith("[")]
    assert all(line.split()[0] in labels for line in told)
    assert told[0].startswith(first)
    assert told[-1].startswith(f"[{LABELS[language][Part.TERMINUS]}]")  # type: ignore[index]
    client_parts = {Part.WRITER, Part.SEND, Part.LISTEN, Part.PROCESSING, Part.TERMINUS}
    for part in client_parts:
        assert any(line.startswith(f"[{LABELS[language][part]}]") for line in told), part  # type: ignore[index]
    text = done.stdout
    # The client core's states and events, told by the brain in the same language.
    brain = f"[{LABELS[language][Part.BRAIN]}]"  # type: ignore[index]
    moves = [line for line in told if line.startswith(brain) and " → " in line]
    assert any("READY → DATA" in line for line in moves), moves
    assert any("DATA → READY" in line for line in moves)
    assert "C: MAIL FROM:<alice@exemple.fr>" in text
    assert "S: 354" in text and allows in text
    assert PASSWORD not in text and PASSWORD not in done.stderr
