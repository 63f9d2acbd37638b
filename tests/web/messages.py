"""Messages for the API's tests: one with every part the API shows, one filed after a
login."""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage
from pathlib import Path

from postier.store import MaildirStore, MboxStore, Spool
from tests.store_read.helpers import PDF, envelope, plain, wire_bytes

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def rich(subject: str = "Rich") -> EmailMessage:
    """Text and HTML with an inline image (`cid:logo@x`), a PDF, Cc, Bcc, Reply-To and
    List-Unsubscribe."""
    message = plain(
        subject,
        "Plain words.\n",
        to='"Alice A." <alice@example.org>, bob@example.org',
        cc="Carol <carol@example.org>",
        bcc="dave@example.org",
        reply_to="Replies <replies@example.com>",
        list_unsubscribe="<mailto:off@example.com>, <https://example.com/off>",
        list_unsubscribe_post="List-Unsubscribe=One-Click",
    )
    message.add_alternative(
        '<p>Hello <img src="cid:logo@x" alt="logo"></p><p><img src=\'cid:logo@x\'></p>',
        subtype="html",
    )
    html = message.get_payload()[1]  # type: ignore[index]
    html.add_related(PNG, maintype="image", subtype="png", cid="<logo@x>")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    return message


def deliver_after_login(store: Path, fmt: str, message: EmailMessage, user: str) -> None:
    """File `message` for alice as a server does after `user` logged in."""
    backend = MboxStore(store, fsync=False) if fmt == "mbox" else MaildirStore(store, fsync=False)
    spool = Spool()
    try:
        spool.write(wire_bytes(message))
        backend.deliver(dataclasses.replace(envelope(["alice@example.org"]), auth_user=user), spool)
    finally:
        spool.close()
        backend.close()
