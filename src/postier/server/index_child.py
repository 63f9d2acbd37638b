"""The indexing process of a server (`index_process`): `python -m postier.server.index_child
STORE`, started by the server, never by a person.

It reads one request a line on stdin, `{"only": [entry, ...]}` (or `null`: every mailbox),
brings the index up to date with those mailboxes as any reader would (`Reader.sync`),
and answers one line on its own channel, `{"changes": [[kind, mailbox, [id, ...]], ...]}`
or `{"error": "..."}`. It ends when stdin does: when the server closes it, or when the
server is gone however it ended (a kill -9 leaves no indexer behind). Whatever it was
writing then is rolled back by SQLite, and the next reader's look catches up.

Its answers go out on the file descriptor that was its stdout; stdout itself is pointed
at stderr, so that nothing printed by accident can garble an answer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from typing import BinaryIO

from postier.server.logs import configure_logging
from postier.store.read import READ_TROUBLE, Reader, ReaderError

log = logging.getLogger("postier.store")


def serve(reader: Reader, requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer each request line until `requests` ends."""
    for line in requests:
        only = json.loads(line)["only"]
        try:
            changes = reader.sync(None if only is None else set(only))
        except READ_TROUBLE as error:
            answer: dict[str, object] = {"error": str(error) or type(error).__name__}
        else:
            answer = {"changes": [[c.kind, c.mailbox, list(c.ids)] for c in changes]}
        answers.write(json.dumps(answer, separators=(",", ":")).encode() + b"\n")
        answers.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postier.server.index_child")
    parser.add_argument("store")
    parser.add_argument("--no-fsync", dest="fsync", action="store_false")
    parser.add_argument("--tags-from-plus", action="store_true")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    # Started in a session of its own, it hears no terminal's Ctrl-C; one sent to it
    # anyway waits for the round's end too (the server closes stdin to end it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    configure_logging(args.log_level)
    reader = Reader(args.store, fsync=args.fsync, tags_from_plus=args.tags_from_plus)
    try:
        serve(reader, sys.stdin.buffer, answers)
    except BrokenPipeError:
        pass  # the server is gone: nobody to answer
    finally:
        try:
            reader.close()
        except ReaderError as error:
            log.warning("closing the index: %s", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
