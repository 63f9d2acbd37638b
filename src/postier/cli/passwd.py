"""`postier passwd USER`: print a `USER:HASH` line for the password file of `serve --auth`."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from postier.cli.options import subcommand
from postier.server import check_username, hash_password

DESCRIPTION = """\
Print one line, USER:HASH, for the password file that `postier serve --auth FILE`
reads. The password is read from standard input (its first line) when that is not a
terminal, else asked for twice. The file holds salted scrypt hashes, never the
passwords; each run picks a new salt, so the line differs every time.

  postier passwd alice >> users.txt
  printf '%s\\n' "$PASSWORD" | postier passwd bob >> users.txt
  postier serve --auth users.txt"""


class _InputError(Exception):
    """The user name or password cannot be used; the message is the one line to show."""


def register(subparsers: Any) -> None:
    parser = subcommand(
        subparsers,
        "passwd",
        summary="make a user:hash line for `serve --auth FILE`",
        description=DESCRIPTION,
    )
    parser.add_argument("user", metavar="USER", help="the user name clients log in with")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        problem = check_username(args.user)
        if problem:
            raise _InputError(problem)
        password = _read_password()
        if "\0" in password:
            raise _InputError("a password cannot hold a NUL character")
    except _InputError as exc:
        sys.stderr.write(f"postier: passwd: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    # UTF-8 whatever the locale: the server reads the file as UTF-8.
    sys.stdout.buffer.write(f"{args.user}:{hash_password(password)}\n".encode())
    sys.stdout.flush()
    return 0


def _read_password() -> str:
    if sys.stdin is None or not sys.stdin.isatty():
        password = _first_line()
    else:
        try:
            password = getpass.getpass("Password: ")
            if password and getpass.getpass("Again: ") != password:
                raise _InputError("the passwords do not match")
        except EOFError:
            raise _InputError("no password given") from None
    if not password:
        raise _InputError("empty password")
    if "\0" in password:
        # SASL PLAIN (RFC 4616) separates its fields with NUL: no client could send it.
        raise _InputError("a password cannot contain NUL")
    return password


def _first_line() -> str:
    """The first line of standard input, its line ending removed; the rest is not read."""
    line = sys.stdin.buffer.readline() if sys.stdin is not None else b""
    if not line:
        raise _InputError("no password on standard input")
    try:
        return line.removesuffix(b"\n").removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise _InputError("the password on standard input is not UTF-8") from None
