"""`postier read`: one mailbox's messages as a table, or one message to read, raw, as JSON
or one part of it saved to a file."""

from __future__ import annotations

import argparse
import shutil
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
from postier.cli.display import human_size, message_table, message_text
from postier.cli.options import env, subcommand
from postier.cli.refs import is_id
from postier.cli.shapes import message_json
from postier.store import is_delivery_id
from postier.store.read import (
    Located,
    MessageSummary,
    MessageView,
    Reader,
    ReaderError,
    locate_address,
)

DESCRIPTION = """\
Without N, list the messages of ADDRESS's mailbox, oldest first: number, ID, N for an
unread message, date, sender, subject, size and attachment count; --all lists every
mailbox's, and --search QUERY only those that match (in ADDRESS's mailbox, or in every
mailbox without ADDRESS). With N (or --last), or with an ID alone, show that message:
the headers that matter, its text (or its HTML rendered as text) and its attachments,
and mark it read (--peek leaves it as it is).

The address is matched as the server names mailboxes: case does not matter. A mailbox
that does not exist is empty. The store's format (mbox or Maildir) is detected.
An ID is the message's stable name in the store: the same however many messages are
filed or deleted around it (as `postier delete` and `postier mark` take it). A message
sent to several recipients is one entry of every mailbox's list (--all), under its
delivery's ID (d...), and a copy in each recipient's mailbox, under the copy's ID: a
delivery's ID shows its first copy, ADDRESS and a delivery's ID the copy in ADDRESS.

A search holds words and "quoted phrases" (found in the subject, sender, recipients and
text) and terms: from:, to:, cc:, subject:, message-id:, mailbox:, is:read, is:unread,
has:attachment, before:DATE, after:DATE (YYYY-MM-DD, UTC), larger:SIZE, smaller:SIZE
(10K, 2M); a leading - negates a term; all terms must match; case does not matter.

--json is for scripts: one object per message with the keys id, mailbox, mailboxes
(every mailbox holding a copy of a delivery listed by its ID), read, index, from, to,
cc, subject, date (ISO 8601), size, message_id, raw (the stored message as text, trace
headers included), raw_base64 (its exact bytes), text, html and attachments (name, type,
size); an array of them for a list. --raw prints the stored message itself: the trace
headers and the message exactly as received, mbox quoting undone."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers,
        "read",
        summary="list a mailbox's messages (or search them), or read one",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "address", metavar="ADDRESS", nargs="?", help="whose mailbox to read, or a message's ID"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "number",
        metavar="N",
        nargs="?",
        help="the message to show: its number from 1 as in the table, or its ID",
    )
    which.add_argument("--last", action="store_true", help="show the newest message")
    parser.add_argument(
        "--all", action="store_true", help="list the messages of every mailbox, newest first"
    )
    parser.add_argument(
        "--search",
        metavar="QUERY",
        help="list only the messages that match QUERY (see above); a query that starts "
        "with - is written --search=-TERM",
    )
    parser.add_argument(
        "--peek", action="store_true", help="show a message without marking it read"
    )
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
    problem = _usage_problem(args)
    if problem is not None:
        error(problem)
        return USAGE_ERROR
    return run_command(lambda: _read(args))


def _one_message(args: argparse.Namespace) -> bool:
    alone_id = args.address is not None and args.number is None and is_id(args.address)
    return args.number is not None or args.last or alone_id


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.number is not None and not (
        (args.number.isdigit() and int(args.number) >= 1) or is_id(args.number)
    ):
        return f"not a message number or ID: {args.number!r}"
    wants_message = _one_message(args)
    if (args.raw or args.part is not None) and not wants_message:
        return f"{'--raw' if args.raw else '--part'} needs a message: give N, --last or an ID"
    if (args.part is None) != (args.output is None):
        return "--part and --output go together: --part PART --output FILE"
    if args.address is None and not (args.all or args.search is not None):
        return "give an ADDRESS (or an ID), --all, or --search QUERY"
    if wants_message and (args.all or args.search is not None):
        return "--all and --search list messages: they do not go with N, --last or an ID"
    if args.all and args.address is not None:
        return "--all lists every mailbox: give no ADDRESS with it"
    return None


def _read(args: argparse.Namespace) -> int:
    with Reader(args.store) as reader:
        if not _one_message(args):
            return _list(reader, args)
        found = _find(reader, args)
        if args.raw:
            with reader.open_raw(found) as stream:
                shutil.copyfileobj(stream, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            message = reader.view(found)
            if args.json:
                print_lines([to_json(message_json(found.summary, message))])
            elif args.part is not None:
                _save_part(message, args.part, args.output)
            else:
                print_lines(message_text(found.summary, message))
        if not args.peek:
            reader.mark([found.id], read=True)
    return 0


def _find(reader: Reader, args: argparse.Namespace) -> Located:
    if args.number is None and not args.last:
        return reader.message(args.address.strip())
    if args.number is not None and is_delivery_id(args.number.strip()):
        return _copy_in(reader, args.number.strip(), args.address)
    if args.number is not None and is_id(args.number):
        found = reader.message(args.number.strip())
        if found.summary.mailbox != locate_address(args.address):
            raise ReaderError(f"message {found.id} is not in {args.address}'s mailbox")
        return found
    return reader.numbered(args.address, None if args.last else int(args.number))


def _copy_in(reader: Reader, delivery: str, address: str) -> Located:
    """The copy of the delivery `delivery` that `address`'s mailbox holds."""
    wanted = locate_address(address)
    for copy in reader.copies(delivery):
        if copy.summary.mailbox == wanted:
            return reader.message(copy.id)
    raise ReaderError(f"message {delivery} has no copy in {address}'s mailbox")


def _list(reader: Reader, args: argparse.Namespace) -> int:
    mailbox = args.address
    page = reader.messages(mailbox, query=args.search or "", limit=None)
    # Oldest first, as mail readers list a mailbox: the newest ends next to the prompt.
    rows = list(reversed(page.messages))
    if args.json:
        print_json_array(message_json(row, reader.view(_numbered(reader, row))) for row in rows)
        return 0
    where = f"{locate_address(mailbox)}" if mailbox is not None else "every mailbox"
    if not rows:
        if args.search is not None:
            print_lines([f"No message matches in {where}."])
        elif mailbox is not None:
            print_lines([f"No mail for {where}."])
        else:
            print_lines(["No mail in the store."])
        return 0
    count = f"{page.total} message" + ("" if page.total == 1 else "s")
    unread = f", {page.unread} unread" if page.unread else ""
    matching = " matching" if args.search is not None else ""
    heading = f"{where}: {count}{matching}{unread}"
    numbered = mailbox is not None and args.search is None
    print_lines(message_table(heading, rows, numbered=numbered))
    return 0


def _numbered(reader: Reader, row: MessageSummary) -> Located:
    """A listed message with its number: a mailbox's list counted it already; a search's
    did not, so its place is counted."""
    if row.number:
        return reader.locate(row.id).numbered(row.number)
    return reader.message(row.id)


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
