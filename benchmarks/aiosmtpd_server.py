"""aiosmtpd servers for `smtp_bench.py` to compare postier with.

Runs in its own virtual environment, which holds aiosmtpd and uvloop (see `smtp_bench.py
--setup`); it is never imported by postier or its tests. Three ways to treat a message:

- `discard`: answer 250 and keep nothing (the upper bound of aiosmtpd itself);
- `mbox`: append to `<store>/<recipient>.mbox` under `flock`, with LF line endings and
  mboxrd quoting, and `fsync` before answering 250 (what postier promises by default);
- `maildir`: what aiosmtpd's own `Mailbox` handler does (parse the message, add the
  `X-Peer`/`X-MailFrom`/`X-RcptTo` headers, `mailbox.Maildir.add`, which does not fsync),
  with one Maildir per recipient, `<store>/<recipient>/`, as postier lays them out.

The process serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import logging
import mailbox
import os
import re
import signal
import time
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.handlers import Message
from aiosmtpd.smtp import SMTP, Envelope, Session

MAX_SIZE = 256 * 1024 * 1024
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


class Discard:
    """Accepts every message and keeps none."""

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        return "250 OK"


class MboxFsync:
    """Appends each message to its recipients' mbox files, fsync'd before the 250."""

    def __init__(self, store: Path) -> None:
        self.store = store

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        body = _FROM_LINE.sub(rb">\1", content.replace(b"\r\n", b"\n"))
        sender = envelope.mail_from or "MAILER-DAEMON"
        head = f"From {sender} {time.asctime()}\n".encode()
        tail = b"\n" if body.endswith(b"\n") else b"\n\n"
        for recipient in dict.fromkeys(r.lower() for r in envelope.rcpt_tos):
            with open(self.store / f"{recipient}.mbox", "ab") as mbox:
                fcntl.flock(mbox, fcntl.LOCK_EX)
                mbox.write(head + body + tail)
                mbox.flush()
                os.fsync(mbox.fileno())
        return "250 OK"


class MaildirPerRecipient(Message):
    """aiosmtpd's `Mailbox` handler, with one Maildir per recipient."""

    def __init__(self, store: Path) -> None:
        super().__init__()
        self.store = store
        self.boxes: dict[str, mailbox.Maildir] = {}

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        message = self.prepare_message(session, envelope)
        for recipient in dict.fromkeys(r.lower() for r in envelope.rcpt_tos):
            box = self.boxes.get(recipient)
            if box is None:
                box = self.boxes[recipient] = mailbox.Maildir(self.store / recipient)
            box.add(message)
        return "250 OK"

    def handle_message(self, message: EmailMessage) -> None:  # pragma: no cover
        raise NotImplementedError  # handle_DATA does the work


def make_handler(mode: str, store: Path) -> Any:
    if mode == "discard":
        return Discard()
    store.mkdir(parents=True, exist_ok=True)
    if mode == "mbox":
        return MboxFsync(store)
    return MaildirPerRecipient(store)


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["discard", "mbox", "maildir"], required=True)
    parser.add_argument("--store", type=Path, default=Path("mail"))
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--hostname", default="bench.test")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    handler = make_handler(args.mode, args.store)
    loop = new_loop(args.loop)
    asyncio.set_event_loop(loop)

    def factory() -> SMTP:
        return SMTP(handler, hostname=args.hostname, data_size_limit=MAX_SIZE, loop=loop)

    server = loop.run_until_complete(
        loop.create_server(factory, args.host, args.port, backlog=4096)
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.close()


if __name__ == "__main__":
    main()
