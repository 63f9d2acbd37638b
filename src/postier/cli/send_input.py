"""What `postier send` sends: the message's text and parts, from the options, files and stdin."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from postier.client import Draft, parse_header

_TTY_HINT = "Type the message; end it with a line holding a single '.', or with Ctrl-D."


class UsageError(Exception):
    """The options or the files they name cannot make a message."""


def draft(args: argparse.Namespace) -> Draft:
    """The message the options describe; its files are read here."""
    try:
        headers = [parse_header(text) for text in args.header]
    except ValueError as exc:
        raise UsageError(f"--header: {exc}") from None
    html = _read_text(args.html_file) if args.html_file else None
    return Draft(
        sender=args.sender,
        to=args.to,
        cc=args.cc,
        subject=args.subject,
        text=_body(args),
        html=html,
        attachments=args.attach,
        headers=headers,
    )


def _body(args: argparse.Namespace) -> str:
    if args.body is not None:
        return str(args.body)
    if args.body_file is not None:
        return _read_text(args.body_file)
    return read_stdin_text()


def read_stdin_text() -> str:
    """The text on standard input; at a terminal, up to a line `.` as `mail` does."""
    stdin = sys.stdin
    if not stdin.isatty():
        return _decode(stdin.buffer.read(), "standard input")
    print(_TTY_HINT, file=sys.stderr)
    lines = []
    for line in stdin:
        if line.rstrip("\r\n") == ".":
            break
        lines.append(line)
    return "".join(lines)


def _read_text(path: Path) -> str:
    return _decode(read_bytes(str(path)), str(path))


def read_bytes(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not UTF-8 text (send it with --data or --attach)") from None
