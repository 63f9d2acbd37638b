"""`postier queue`: what waits to be relayed upstream; retry it now, or drop some of it."""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

from postier.cli.console import add_store_option, error, print_json_array, print_lines, run_command
from postier.cli.options import env, subcommand
from postier.relay import EntryBusyError, OutboundQueue, QueueEntry

DESCRIPTION = """\
List the messages that wait in the outbound queue of the store (those `postier serve
--relay` passes on and the upstream has not taken yet): each one's ID, its recipients
still to receive it, its tries, the upstream's last answer and when it is tried next.

--flush asks the running server to try every one now; --delete drops the ones named
(the upstream never gets them; their copies in the local mailboxes stay); --dropped
lists the recipients given up (refused for good by the upstream, or too old)."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers, "queue", summary="the relay's outbound queue", description=DESCRIPTION
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--flush", action="store_true", help="try every queued message now")
    what.add_argument(
        "--delete", nargs="+", metavar="ID", help="drop these queued messages (IDs as listed)"
    )
    what.add_argument("--dropped", action="store_true", help="list the recipients given up instead")
    parser.add_argument("--json", action="store_true", help="print JSON, one object a line")
    add_store_option(parser, env("store", "mail"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.store.is_dir():
        error(f"no store at {args.store}: give --store DIR, as given to postier serve")
        return 1
    queue = OutboundQueue(args.store)
    if args.flush:
        return run_command(lambda: _flush(queue))
    if args.delete:
        return run_command(lambda: _delete(queue, args.delete))
    if args.dropped:
        return run_command(lambda: _dropped(queue, json=args.json))
    return run_command(lambda: _list(queue, json=args.json))


def _list(queue: OutboundQueue, *, json: bool) -> int:
    entries = queue.entries()
    if json:
        print_json_array(_shape(entry) for entry in entries)
        return 0
    if not entries:
        print_lines(["The outbound queue is empty."])
        return 0
    now = time.time()
    lines: list[str] = []
    for entry in entries:
        tries = f"{entry.attempts} tr{'y' if entry.attempts == 1 else 'ies'}"
        lines.append(
            f"{entry.id}  {_when(entry.queued_at)}  from <{entry.sender}>  {entry.size} bytes"
            f"  {tries}, next {_next(entry.next_try, now)}"
        )
        lines.extend(f"    to <{recipient}>" for recipient in entry.recipients)
        if entry.last_error:
            lines.append(f"    last: {entry.last_error}")
    count = len(entries)
    lines.append(f"{count} message{'' if count == 1 else 's'} queued.")
    print_lines(lines)
    return 0


def _flush(queue: OutboundQueue) -> int:
    count = len(queue.names())
    queue.request_flush()
    plural = "" if count == 1 else "s"
    print_lines([f"{count} message{plural} to be tried now by the running postier serve."])
    return 0


def _delete(queue: OutboundQueue, names: list[str]) -> int:
    known = queue.names()
    missing = [name for name in names if name not in known]
    if missing:
        error(f"not in the outbound queue: {', '.join(missing)}")
        return 1
    deleted = 0
    for name in dict.fromkeys(names):
        try:
            with queue.held(name) as data:
                if data is not None:
                    queue.remove(name)
                    deleted += 1
        except EntryBusyError as busy:
            error(str(busy))
            return 1
    print_lines([f"Deleted {deleted} queued message{'' if deleted == 1 else 's'}."])
    return 0


def _dropped(queue: OutboundQueue, *, json: bool) -> int:
    records = queue.dropped()
    if json:
        print_json_array(dataclasses.asdict(record) for record in records)
        return 0
    if not records:
        print_lines(["No recipient was given up."])
        return 0
    print_lines(
        f"{_when(r.at)}  {r.id}  from <{r.sender}>  to <{r.recipient}>: {r.reply}" for r in records
    )
    return 0


def _shape(entry: QueueEntry) -> dict[str, object]:
    shape = dataclasses.asdict(entry)
    shape["recipients"] = list(entry.recipients)
    return shape


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _next(at: float, now: float) -> str:
    if at <= now:
        return "now"
    wait = at - now
    if wait < 120:
        return f"in {wait:.0f} s"
    if wait < 7200:
        return f"in {wait / 60:.0f} min"
    return f"in {wait / 3600:.1f} h"
