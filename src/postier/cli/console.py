"""What the reading commands share at the terminal: the --store option, one-line errors,
JSON output, and output that survives a reader closing the pipe early."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from postier.store.read import ReaderError

USAGE_ERROR = 2
"""The exit status of a bad combination of options, as argparse gives for a bad option."""


def add_store_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    """`--store DIR`; the caller passes the default (`options.env("store", "mail")`), so
    that this module needs nothing from the CLI package, which imports it."""
    parser.add_argument(
        "--store",
        type=Path,
        default=default,
        metavar="DIR",
        help="the store's directory, as given to `postier serve`; its format (mbox or "
        "Maildir) is detected (default: $POSTIER_STORE, else ./mail; now %(default)s)",
    )


def error(message: str) -> None:
    """One line on standard error, as every postier error is shown."""
    sys.stderr.write(f"postier: {message}\n")
    sys.stderr.flush()


def describe(failure: OSError) -> str:
    """An OS error in one line: the file and the reason, without Python's decoration."""
    reason = failure.strerror or str(failure)
    return f"{failure.filename}: {reason}" if failure.filename else reason


def run_command(command: Callable[[], int]) -> int:
    """Run a reading command; any failure becomes one line on standard error and exit 1."""
    _tolerant_output()
    try:
        return command()
    except BrokenPipeError:
        # The reader of our output (`| head`) has all it wants; that is no failure.
        _silence_stdout()
        return 0
    except ReaderError as failure:
        error(str(failure))
    except OSError as failure:
        error(describe(failure))
    except KeyboardInterrupt:
        return 130
    except Exception as failure:  # never a traceback: the user gets one line
        error(f"unexpected error: {type(failure).__name__}: {failure}")
    return 1


def _tolerant_output() -> None:
    """Characters the terminal's encoding lacks print as `?` rather than failing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def _silence_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def print_lines(lines: Iterable[str]) -> None:
    write = sys.stdout.write
    for line in lines:
        write(line + "\n")
    sys.stdout.flush()


def to_json(value: Any, *, indent: int | None = 2) -> str:
    # ASCII escapes keep the output exact whatever the terminal's encoding.
    return json.dumps(value, indent=indent, ensure_ascii=True)


def print_json_array(items: Iterable[Any]) -> None:
    """A JSON array, one element per line, written as each element comes (a mailbox of
    100 000 messages is never held in memory as one document)."""
    write = sys.stdout.write
    first = True
    for item in items:
        write(("[\n" if first else ",\n") + to_json(item, indent=None))
        first = False
    write("[]\n" if first else "\n]\n")
    sys.stdout.flush()
