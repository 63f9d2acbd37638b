"""A POP3 side for the tests: where a `postier serve` listens for POP3, mail to read, and
what a client must get of each stored message."""

from __future__ import annotations

import re
import smtplib
from pathlib import Path

from tests.support.mailboxes import messages
from tests.support.server import ServerProcess

POP3_ARGS = ("--pop3-port", "0", "--auth", "any", "--auth-insecure")
"""POP3 on a free port, any password opening any mailbox, in clear."""
_POP3 = re.compile(r"POP3 on (\S+?):(\d+)")
_POP3S = re.compile(r"POP3S on (\S+?):(\d+)")


def pop3_address(server: ServerProcess, *, implicit_tls: bool = False) -> tuple[str, int]:
    """Where the server's POP3 (or POP3S) listener is, from its log."""
    pattern = _POP3S if implicit_tls else _POP3
    text = server.wait_for_log(pattern.pattern)
    found = pattern.findall(server.log_text(since_start=True)) or pattern.findall(text)
    host, port = found[-1]
    return host.strip("[]"), int(port)


def deliver(server: ServerProcess, recipient: str, bodies: list[bytes]) -> None:
    """Each body (headers and text, CRLF or LF) to `recipient`, over SMTP."""
    with smtplib.SMTP(*server.address, timeout=30) as client:
        for body in bodies:
            client.sendmail("sender@exemple.fr", [recipient], body)


def numbered(count: int, *, size: int = 0) -> list[bytes]:
    """`count` messages, each with lines that need stuffing and `size` octets of filler."""
    filler = b"".join(b"%06d filler line\r\n" % n for n in range(size // 19))
    return [
        b"Subject: message %d\r\n\r\nbody of %d\r\n.starts with a dot\r\n..two\r\n.\r\n%s"
        % (n, n, filler)
        for n in range(count)
    ]


def crlf(data: bytes) -> bytes:
    """A stored message as a POP3 client keeps it: every line ending CRLF."""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") or not data else data + b"\r\n"


def expected(store: Path, address: str, fmt: str) -> list[bytes]:
    """What RETR must send of each message of the mailbox, read with Python's `mailbox`."""
    return [crlf(message) for message in messages(store, address, fmt)]


def lines_to_bytes(lines: list[bytes]) -> bytes:
    """poplib's lines of a message (unstuffed) back into its bytes."""
    return b"".join(line + b"\r\n" for line in lines)
