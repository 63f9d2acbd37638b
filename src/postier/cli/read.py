"""`postier read`: one mailbox's messages as a table, or one message to read, raw, as JSON
or one part of it saved to a file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from postier.cli.console import (
    USAGE_ERROR,
    add_store_option,
    error,
    print_json_array,
    print_lines,
    run_command,
    to_json,
)
from postier.cli.display import human_size, mailbox_table, message_text
from postier.cli.options import env, positive_int, subcommand
from postier.store.read import Mailbox, MessageView, ReaderError, Store, view

DESCRIPTION = """\
Without N, list the messages of ADDRESS's mailbox: number, date, sender, subject, size
and attachment count. With N (or --last), show that message: the headers that matter,
its text (or its HTML rendered as text) and its attachments.

The address is matched as the server names mailboxes: case does not matter. A mailbox
that does not exist is empty. The store's format (mbox or Maildir) is detected.

--json is for scripts: one object per message with the keys index, from, to, cc,
subject, date (ISO 8601), size, message_id, raw (the stored message as text, trace
headers included), raw_base64 (its exact bytes), text, html and attachments (name,
type, size); an array of them without N. --raw prints the stored message itself: the
trace headers and the message exactly as received, mbox quoting undone."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers,
        "read",
        summary="list a mailbox's messages, or read one",
        description=DESCRIPTION,
    )
    parser.add_argument("address", metavar="ADDRESS", help="whose mailbox to read")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "number",
        metavar="N",
        nargs="?",
        type=positive_int,
        help="the message to show, numbered from 1 as in the table",
    )
    which.add_argument("--last", action="store_true", help="show the newest message")
    add_store_option(parser, env("store", "mail"))
    form = parser.add_mutually_exclusive_group()
    form.add_argument(
        "--raw", action="store_true", help="print the stored message's exact bytes (needs N)"
    )
    form.add_argument(
        "--json", action="store_true", help="print JSON for scripts (see above for its keys)"
    )
    form.add_argument(
        "--part",
        metavar="PART",
        help="save one part of message N: `text`, `html`, or an attachment's name "
        "(or its number in the message's list of attachments); needs --output",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="the file --part writes (replaced if it exists); `-` for standard output",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    wants_message = args.number is not None or args.last
    if (args.raw or args.part is not None) and not wants_message:
        error(f"{'--raw' if args.raw else '--part'} needs a message: give N or --last")
        return USAGE_ERROR
    if (args.part is None) != (args.output is None):
        error("--part and --output go together: --part PART --output FILE")
        return USAGE_ERROR
    return run_command(lambda: _read(args))


def _read(args: argparse.Namespace) -> int:
    with Store(args.store).open(args.address) as mailbox:
        if args.number is None and not args.last:
            return _list(mailbox, args.json)
        index, stored = mailbox.message(args.number)
        if args.raw:
            sys.stdout.buffer.write(stored.raw)
            sys.stdout.buffer.flush()
            return 0
        message = view(index, stored)
    if args.json:
        print_lines([to_json(message.to_json())])
    elif args.part is not None:
        _save_part(message, args.part, args.output)
    else:
        print_lines(message_text(mailbox.address, message))
    return 0


def _list(mailbox: Mailbox, as_json: bool) -> int:
    if as_json:
        print_json_array(
            view(index, stored).to_json() for index, stored in enumerate(mailbox.messages(), 1)
        )
        return 0
    # Rows are gathered first: the table's heading gives the count.
    rows = [(index, stored.size, summary) for index, stored, summary in mailbox.rows()]
    if not rows:
        print_lines([f"No mail for {mailbox.address}."])
    else:
        print_lines(mailbox_table(mailbox.address, rows))
    return 0


def _save_part(message: MessageView, part: str, output: str) -> None:
    data, label = _part_data(message, part)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with open(output, "wb") as file:
        file.write(data)
    print_lines(
        [f"Saved {label} of message {message.index} ({human_size(len(data))}) to {output}."]
    )


def _part_data(message: MessageView, part: str) -> tuple[bytes, str]:
    """The bytes of the part named `part`, and how to call it."""
    if part == "text":
        if message.text is None:
            raise ReaderError(f"message {message.index} has no text")
        return message.text.encode("utf-8"), "the text"
    if part == "html":
        if message.html is None:
            raise ReaderError(f"message {message.index} has no HTML part")
        return message.html.encode("utf-8"), "the HTML part"
    for attachment in message.attachments:
        if attachment.name == part:
            return attachment.content(), attachment.name
    if part.isdigit() and 1 <= int(part) <= len(message.attachments):
        attachment = message.attachments[int(part) - 1]
        return attachment.content(), attachment.name or f"attachment {part}"
    names = ", ".join(repr(item.name or "(no name)") for item in message.attachments)
    has = f"its attachments: {names}" if names else "it has no attachments"
    raise ReaderError(f"message {message.index} has no part {part!r} ({has})")
