"""CPU time the SMTP server core spends on one pipelined transaction, without any I/O.

    python3 benchmarks/core_bench.py [--transactions N] [--rounds R] [--against SRC]
                                     [--deciding]

Feeds a `ServerConnection` N transactions of a 1 KiB message (MAIL with SIZE, one RCPT,
DATA, the message and its dot, each answered with 250 as the session would), in one
process, and prints the CPU microseconds per transaction. `--against SRC` also runs the
same measurement on another tree's `src/` (a checkout of an earlier commit, say), in
turns with this one, and prints each round's ratio and their median: the machine's
drift falls on both alike. `--deciding` has this tree's session decide about each sender
and recipient (as `--accept`, `--reject` or chaos make it), accepting them all: the cost
of the verdicts' pauses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
MESSAGE = b"Subject: hi\r\n\r\n" + (b"y" * 76 + b"\r\n") * 12
TRANSACTION = (
    b"MAIL FROM:<a@b.test> SIZE=1024\r\nRCPT TO:<c@d.test>\r\nDATA\r\n" + MESSAGE + b".\r\n"
)


def measure(transactions: int, deciding: bool = False) -> float:
    """CPU microseconds per transaction in this process (whichever postier it imports)."""
    try:
        from postier.protocol.smtp import NEED_DATA, ServerConfig, ServerConnection, catalogue
        from postier.protocol.smtp.events import MessageComplete
    except ImportError:  # a tree from before the SMTP core moved into protocol/smtp/
        from postier.protocol.events import MessageComplete  # type: ignore[no-redef]

        from postier.protocol import (  # type: ignore[attr-defined,no-redef]
            NEED_DATA,
            ServerConfig,
            ServerConnection,
            catalogue,
        )

    conn = ServerConnection(ServerConfig(hostname="mx.test"))
    offered: tuple[type, ...] = ()
    if deciding:
        from postier.protocol.smtp import ACCEPT, RecipientOffered, SenderOffered

        conn.decides_senders = conn.decides_recipients = True
        offered = (SenderOffered, RecipientOffered)
    conn.receive_data(b"EHLO client.test\r\n")
    stored = 0
    began = time.process_time()
    for _ in range(transactions):
        conn.receive_data(TRANSACTION)
        while (event := conn.next_event()) is not NEED_DATA:
            if offered and isinstance(event, offered):
                if isinstance(event, offered[0]):
                    conn.answer_sender(ACCEPT)
                else:
                    conn.answer_recipient(ACCEPT)
            elif isinstance(event, MessageComplete):
                conn.answer_message(catalogue.stored("Q1"))
                stored += 1
        conn.data_to_send()
    spent = time.process_time() - began
    if stored != transactions:
        raise SystemExit(f"only {stored} of {transactions} transactions were stored")
    return spent / transactions * 1e6


def in_child(src: Path, transactions: int, deciding: bool = False) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, __file__, "--child", "--transactions", str(transactions)]
    command += ["--deciding"] if deciding else []
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return float(output.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another tree's src/ to compare with")
    parser.add_argument("--deciding", action="store_true", help="this tree's session decides")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(measure(args.transactions, args.deciding))
        return 0
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.rounds):
        ours.append(in_child(HERE, args.transactions, args.deciding))
        if args.against:
            theirs.append(in_child(args.against, args.transactions))
    print(f"this tree: {statistics.median(ours):.1f} us per transaction (median of {args.rounds})")
    if args.against:
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(f"{args.against}: {statistics.median(theirs):.1f} us per transaction")
        shown = " ".join(f"{r:.3f}" for r in ratios)
        print(f"ratio this/that per round: {shown}; median {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
