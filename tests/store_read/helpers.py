"""Helpers for the reader's tests: messages to send, stores filled through the store's own
`deliver`, mailboxes written by hand or by Python's `mailbox`, the CLI run in-process."""

from __future__ import annotations

import itertools
import os
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from postier.cli import main
from postier.store import Envelope, MaildirStore, MboxStore, Spool
from postier.store.mboxrd import from_line, mbox_transform
from postier.store.naming import StoreFormat
from tests.support.server import ServerProcess

WHEN = datetime(2026, 11, 27, 2, 23, 9, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8
_queue_ids = itertools.count(1)


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str
    raw: bytes


CliRun = Callable[..., Result]


def run_cli(capture: pytest.CaptureFixture[bytes], *args: str | Path) -> Result:
    """`postier ARGS` in this process; a SystemExit from argparse gives its status."""
    capture.readouterr()
    try:
        status = main([str(arg) for arg in args])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    out, err = capture.readouterr()
    return Result(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), out)


# -- messages ------------------------------------------------------------------------


def plain(subject: str = "Hello", body: str = "Hello there.\n", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("sender", "Sender <sender@example.com>")
    message["To"] = headers.pop("to", "alice@example.org")
    message["Subject"] = subject
    message["Date"] = headers.pop("date", "Fri, 27 Nov 2026 03:23:09 +0100")
    message["Message-ID"] = headers.pop("message_id", "<m1@example.com>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def with_attachments(subject: str = "Invoice") -> EmailMessage:
    """Text and HTML alternatives, a PDF and a text file with a Unicode name."""
    message = plain(subject, "See the attachments.\n")
    message.add_alternative("<p>See the <b>attachments</b>.</p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    message.add_attachment("notes: é\n", filename="notés.txt")
    return message


def html_only(subject: str = "Newsletter") -> EmailMessage:
    message = plain(subject)
    message.set_content(
        "<html><head><style>p {}</style></head><body><h1>News</h1>"
        "<p>Read <a href='https://example.com/news'>the news</a>.</p></body></html>",
        subtype="html",
    )
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as a client sends it: CRLF line endings."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


# -- stores --------------------------------------------------------------------------


def envelope(
    recipients: Sequence[str], sender: str = "sender@example.com", when: datetime = WHEN
) -> Envelope:
    return Envelope(
        sender=sender,
        recipients=tuple(recipients),
        helo="client.example.com",
        peer_ip="192.0.2.7",
        server_name="mx.test",
        protocol="ESMTP",
        queue_id=f"Q{next(_queue_ids)}",
        received_at=when,
    )


def deliver(
    store: Path,
    fmt: StoreFormat,
    messages: Sequence[EmailMessage | bytes],
    recipients: Sequence[str] = ("alice@example.org",),
    *,
    sender: str = "sender@example.com",
    when: datetime = WHEN,
) -> None:
    """File each message with the store's own `deliver`, one second apart from `when`."""
    backend = MboxStore(store, fsync=False) if fmt == "mbox" else MaildirStore(store, fsync=False)
    try:
        for number, message in enumerate(messages):
            data = message if isinstance(message, bytes) else wire_bytes(message)
            spool = Spool()
            try:
                spool.write(data)
                backend.deliver(
                    envelope(recipients, sender, when + timedelta(seconds=number)), spool
                )
            finally:
                spool.close()
    finally:
        backend.close()


def mbox_bytes(messages: Sequence[bytes], sender: str = "sender@example.com") -> bytes:
    """An mbox holding `messages` (LF endings) as the store writes one: mboxrd quoting."""
    out = []
    for number, message in enumerate(messages):
        transform = mbox_transform()
        body = transform.feed(message) + transform.finish()
        ending = b"\n" if body.endswith(b"\n") else b"\n\n"
        out.append(from_line(sender, WHEN + timedelta(seconds=number)) + body + ending)
    return b"".join(out)


def make_maildir(path: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def write_maildir_file(maildir: Path, name: str, data: bytes, sub: str = "new") -> Path:
    path = make_maildir(maildir) / sub / name
    path.write_bytes(data)
    return path


def send(
    server: ServerProcess,
    message: EmailMessage,
    recipients: Sequence[str],
    sender: str = "sender@example.com",
) -> None:
    """Send through a real server with smtplib; SMTPUTF8 when an address needs it."""
    options = [] if all(address.isascii() for address in [sender, *recipients]) else ["SMTPUTF8"]
    with smtplib.SMTP(*server.address, timeout=10) as client:
        client.sendmail(sender, list(recipients), wire_bytes(message), mail_options=options)


def file_size(path: Path) -> int:
    return os.stat(path).st_size
