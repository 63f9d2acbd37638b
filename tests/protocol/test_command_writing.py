"""Commands both ways: the conversation tables' client lines written back, and Hypothesis.

As h11's test_io.py does, one table serves reading and writing: every client line of
the server's conversations that parses to a command is written back from the parsed
value. A line in the one spelling the writer uses comes back byte for byte; the
others come back as `normalise()` spells them, each rule saying which freedom of the
grammar (or which leniency of our parser) it takes away.
"""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.smtp.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
    parse_command,
)
from postier.protocol.smtp.errors import RemoteProtocolError
from tests.protocol.conversations import ALL as BASE_CASES
from tests.protocol.conversations_extensions import EXTENSION_CASES
from tests.protocol.helpers import examples

# --- the conversation tables, read back -------------------------------------------------

_PATH = re.compile(r"(FROM|TO): *(?:<(?:@[^:<>]*:)?(.*?)>(?= |$)|([^ <>]+))(.*)", re.IGNORECASE)
_PARAMETER_ORDER = ("SIZE", "BODY", "SMTPUTF8")


def normalise(line: bytes) -> bytes:
    """`line` in the one spelling the writer uses, CRLF added. The rules:

    - verbs in upper case (RFC 5321 §2.4: they are case-insensitive);
    - one space between words, none at the end (the parser takes several);
    - NOOP without its text (RFC 5321 §4.1.1.9: the text is ignored, so not kept);
    - AUTH's mechanism and BDAT's LAST in upper case (RFC 4422 §3.1, RFC 3030 §2);
    - MAIL and RCPT: `FROM:` and `TO:` in upper case; the path in angle brackets, no
      space after the colon (we read both leniently); no source route (RFC 5321
      §4.1.1.3 and appendix C: accepted and ignored); parameter keywords and BODY's
      value in upper case, in the order SIZE, BODY, SMTPUTF8 (RFC 5321 §4.1.2 gives
      none); no AUTH parameter (RFC 4954 §5 lets a server ignore it, and we do).
    """
    verb, _, rest = line.decode("utf-8").partition(" ")
    verb = verb.upper()
    words = [] if verb == "NOOP" else [w for w in rest.strip(" ").split(" ") if w]
    if verb in ("MAIL", "RCPT"):
        words = _path_and_parameters(rest)
    elif verb == "AUTH":
        words[:1] = [words[0].upper()]
    elif verb == "BDAT":
        words = [w.upper() for w in words]
    elif verb in ("VRFY", "HELP"):
        words = [rest.strip(" ")] if rest.strip(" ") else []
    return " ".join([verb, *words]).encode("utf-8") + b"\r\n"


def _path_and_parameters(rest: str) -> list[str]:
    match = _PATH.fullmatch(rest.lstrip(" "))
    assert match, rest
    keyword, address = match[1].upper(), match[2] if match[2] is not None else match[3]
    parameters = {}
    for item in match[4].split():
        key, eq, value = item.partition("=")
        key = key.upper()
        if key != "AUTH":
            parameters[key] = f"{key}={value.upper() if key == 'BODY' else value}" if eq else key
    ordered = [parameters[key] for key in _PARAMETER_ORDER if key in parameters]
    return [f"{keyword}:<{address}>", *ordered]


def _client_lines() -> list[bytes]:
    """Every distinct line the tables' clients send that parses to a command."""
    lines: dict[bytes, None] = {}
    for case in [*BASE_CASES, *EXTENSION_CASES]:
        for step in case.steps:
            if isinstance(step.action, bytes):
                for line in step.action.split(b"\r\n")[:-1]:
                    lines.setdefault(line)
    return [line for line in lines if _parses(line)]


def _parses(line: bytes) -> bool:
    try:
        parse_command(line)
    except RemoteProtocolError:
        return False
    return True


LINES = _client_lines()


def test_the_tables_hold_enough_lines_of_every_verb() -> None:
    verbs = {line.split(b" ", 1)[0].upper() for line in LINES}
    assert verbs >= {b"HELO", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP", b"VRFY"}
    assert verbs >= {b"HELP", b"QUIT", b"STARTTLS", b"AUTH", b"BDAT"}
    assert len(LINES) > 50


@pytest.mark.parametrize("line", LINES, ids=lambda line: line[:60].decode(errors="replace"))
def test_every_client_line_of_the_tables_is_written_back(line: bytes) -> None:
    command = parse_command(line)
    assert command.to_bytes() == normalise(line)
    assert command.line().encode("utf-8") + b"\r\n" == command.to_bytes()


def test_lines_in_the_writers_spelling_come_back_byte_for_byte() -> None:
    exact = [line for line in LINES if normalise(line) == line + b"\r\n"]
    assert len(exact) > len(LINES) // 2
    for line in exact:
        assert parse_command(line).to_bytes() == line + b"\r\n"


# --- any command, written then read -----------------------------------------------------

_PRINTABLE = st.characters(categories=("L", "M", "N", "P", "S"))
_WORD = st.text(_PRINTABLE, min_size=1, max_size=12)
_TEXT = st.lists(_WORD, min_size=1, max_size=4).map(" ".join)
_ATEXT = st.sampled_from("abcXYZ019!#$%&'*+-/=?^_`{|}~éü日")
_ATOM = st.text(_ATEXT, min_size=1, max_size=8)
_DOT_STRING = st.lists(_ATOM, min_size=1, max_size=3).map(".".join)
_QCHAR = st.one_of(st.sampled_from(" a!#>[]~é"), st.sampled_from('"\\ >').map(lambda c: "\\" + c))
_QUOTED = st.lists(_QCHAR, max_size=6).map(lambda chars: '"' + "".join(chars) + '"')
_LABEL = st.from_regex(r"[a-z0-9é](?:[a-z0-9é-]{0,6}[a-z0-9é])?", fullmatch=True)
_DOMAIN = st.lists(_LABEL, min_size=1, max_size=3).map(".".join)
_LITERAL = st.sampled_from(["[192.0.2.1]", "[IPv6:2001:db8::1]", "[x-tag:anything]"])
_MAILBOX = st.builds("{}@{}".format, st.one_of(_DOT_STRING, _QUOTED), st.one_of(_DOMAIN, _LITERAL))
_DIGITS = st.integers(0, 10**20 - 1)
_BASE64 = st.binary(min_size=1, max_size=40).map(lambda b: base64.b64encode(b).decode("ascii"))


@st.composite
def _mail(draw: st.DrawFn) -> Mail:
    sender = draw(st.one_of(st.just(""), _MAILBOX))
    size = draw(st.none() | _DIGITS)
    body = draw(st.none() | st.sampled_from(["7BIT", "8BITMIME", "BINARYMIME"]))
    # RFC 6531 §3.4: a non-ASCII address needs SMTPUTF8.
    smtputf8 = draw(st.booleans()) or not sender.isascii()
    return Mail(sender, size, body, smtputf8)


commands = st.one_of(
    st.builds(Helo, _WORD),
    st.builds(Ehlo, st.one_of(_WORD, _DOMAIN, _LITERAL)),
    _mail(),
    st.builds(Rcpt, st.one_of(_MAILBOX, st.sampled_from(["postmaster", "Postmaster"]))),
    st.builds(Vrfy, _TEXT),
    st.builds(Help, st.one_of(st.just(""), _TEXT)),
    st.builds(Auth, st.from_regex(r"[A-Z0-9_-]{1,20}", fullmatch=True), st.none() | _BASE64),
    st.builds(Auth, st.just("PLAIN"), st.just("=")),
    st.builds(Bdat, _DIGITS, st.booleans()),
    st.sampled_from([Data(), Rset(), Noop(), Quit(), StartTls()]),
)


@examples(500)
@given(commands)
def test_any_command_written_reads_back_the_same(command: Command) -> None:
    wire = command.to_bytes()
    assert wire.endswith(b"\r\n")
    assert b"\r" not in wire[:-2] and b"\n" not in wire[:-2]
    assert parse_command(wire[:-2]) == command
