"""Replies both ways: a `Reply` to its wire form and back, and every reply the server has."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from postier.protocol.smtp import (
    Enhanced,
    RemoteProtocolError,
    Reply,
    ReplyCode,
    ReplyParser,
    catalogue,
    client_refusals,
)
from postier.protocol.smtp.codes import is_positive
from postier.protocol.smtp.replies import MAX_REPLY_LINE, MAX_REPLY_LINES

BOTH_WAYS = [
    (Reply(250, ("Ok",), "2.0.0"), b"250 2.0.0 Ok\r\n"),
    (Reply(220, ("mx.test ESMTP postier ready",)), b"220 mx.test ESMTP postier ready\r\n"),
    (
        Reply(250, ("mx.test greets c", "PIPELINING", "SIZE 10")),
        b"250-mx.test greets c\r\n250-PIPELINING\r\n250 SIZE 10\r\n",
    ),
    (
        Reply(214, ("Commands: a", "See RFC 5321"), "2.0.0"),
        b"214-2.0.0 Commands: a\r\n214 2.0.0 See RFC 5321\r\n",
    ),
    (Reply(354, ("End data with <CR><LF>.<CR><LF>",)), b"354 End data with <CR><LF>.<CR><LF>\r\n"),
    (Reply(421, ("mx.test closing",), "4.4.2"), b"421 4.4.2 mx.test closing\r\n"),
    (Reply(553, ("Error: é",), "5.6.7"), "553 5.6.7 Error: é\r\n".encode()),
    (Reply(550, ("",), "5.0.0"), b"550 5.0.0 \r\n"),
]


@pytest.mark.parametrize(("reply", "data"), BOTH_WAYS, ids=[str(r) for r, _ in BOTH_WAYS])
def test_reply_to_bytes(reply: Reply, data: bytes) -> None:
    assert reply.to_bytes() == data


@pytest.mark.parametrize(("reply", "data"), BOTH_WAYS, ids=[str(r) for r, _ in BOTH_WAYS])
def test_bytes_to_reply(reply: Reply, data: bytes) -> None:
    parser = ReplyParser()
    parser.receive_data(data)
    assert parser.next_reply() == reply
    assert parser.next_reply() is None
    assert not parser.pending


@pytest.mark.parametrize(("reply", "data"), BOTH_WAYS, ids=[str(r) for r, _ in BOTH_WAYS])
def test_bytes_to_reply_one_byte_at_a_time(reply: Reply, data: bytes) -> None:
    parser = ReplyParser()
    got = []
    for i in range(len(data)):
        parser.receive_data(data[i : i + 1])
        parsed = parser.next_reply()
        if parsed is not None:
            got.append(parsed)
        assert parser.pending == (i < len(data) - 1)
    assert got == [reply]


def test_reply_properties() -> None:
    assert Reply(250, ("a", "b"), "2.0.0").text == "a\nb"
    assert str(Reply(250, ("a", "b"), "2.0.0")) == "250 2.0.0 a / b"
    assert Reply(354, ()).to_bytes() == b"354 \r\n"
    assert [Reply(c, ()).is_positive for c in (250, 354, 421, 550)] == [True, True, False, False]
    assert [Reply(c, ()).is_transient for c in (250, 421, 550)] == [False, True, False]
    assert [Reply(c, ()).is_permanent for c in (250, 421, 550)] == [False, False, True]
    assert ReplyCode.OK.is_positive and not ReplyCode.SERVICE_UNAVAILABLE.is_positive
    assert is_positive(354) and not is_positive(199) and not is_positive(421)


PARSED = [
    (b"250 Ok\n", [Reply(250, ("Ok",))]),
    (b"250\r\n", [Reply(250, ("",))]),
    (b"250-a\r\n250-b\r\n250 c\r\n", [Reply(250, ("a", "b", "c"))]),
    (b"250-2.0.0 a\r\n250 b\r\n", [Reply(250, ("2.0.0 a", "b"))]),
    (b"250 5.0.0 wrong class\r\n", [Reply(250, ("5.0.0 wrong class",))]),
    (b"250 2.0 short\r\n", [Reply(250, ("2.0 short",))]),
    (b"250 2.0.1234 long\r\n", [Reply(250, ("2.0.1234 long",))]),
    (b"250 ok\r\n221 bye\r\n", [Reply(250, ("ok",)), Reply(221, ("bye",))]),
    (b"250 \xff\r\n", [Reply(250, ("\ufffd",))]),
]


@pytest.mark.parametrize(("data", "replies"), PARSED)
def test_parser(data: bytes, replies: list[Reply]) -> None:
    parser = ReplyParser()
    parser.receive_data(data)
    got = []
    while (reply := parser.next_reply()) is not None:
        got.append(reply)
    assert got == replies


BROKEN = [
    b"25 short\r\n",
    b"abc text\r\n",
    b"250x text\r\n",
    b"199 too low\r\n",
    b"600 too high\r\n",
    b"250-a\r\n251 b\r\n",
    b"\r\n",
    b"2" * (MAX_REPLY_LINE + 1),
    b"250-x\r\n" * (MAX_REPLY_LINES + 1),
]


@pytest.mark.parametrize("data", BROKEN, ids=[repr(b[:20]) for b in BROKEN])
def test_parser_refuses(data: bytes) -> None:
    parser = ReplyParser()
    parser.receive_data(data)
    with pytest.raises(RemoteProtocolError) as info:
        parser.next_reply()
    assert info.value.reply.code == 500


def test_parser_connection_closed_inside_a_reply() -> None:
    parser = ReplyParser()
    parser.receive_data(b"250-first\r\n250 sec")
    assert parser.next_reply() is None
    parser.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        parser.next_reply()


def test_parser_connection_closed_between_replies() -> None:
    parser = ReplyParser()
    parser.receive_data(b"250 ok\r\n")
    parser.receive_data(b"")
    assert parser.next_reply() == Reply(250, ("ok",))
    assert parser.next_reply() is None


# --- the catalogue: every reply the server can send ------------------------------------------

# RFC 2034 §3: the greeting and the EHLO/HELO answers carry no enhanced code; nor do
# 354 and 334, as RFC 3463 defines classes 2, 4 and 5 only.
WITHOUT_ENHANCED = {"greeting", "ehlo", "helo", "start_data", "auth_challenge"}

_ARGUMENTS = {str: "x", int: 7, float: 7.5, bool: False, list[str]: ["PIPELINING"]}
_GIVEN = {"chaos": {"code": 451}}
"""Arguments that must be more than any value of their type (a chaos code is a reply's)."""


def _catalogue() -> list[tuple[str, Reply]]:
    replies = []
    functions = [
        (name, function)
        for module in (catalogue, client_refusals)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
    ]
    for name, function in functions:
        if name.startswith("_"):
            continue  # imported, or a helper of the catalogue's own
        hints = inspect.get_annotations(function, eval_str=True)
        kwargs = {p: _ARGUMENTS[t] for p, t in hints.items() if p != "return"}
        kwargs |= _GIVEN.get(name, {})
        variants = [kwargs]
        if "bare_lf_client" in kwargs:
            variants.append({**kwargs, "bare_lf_client": True})
        replies += [(name, function(**v)) for v in variants]
    return replies


CATALOGUE = _catalogue()


def test_the_catalogue_is_found() -> None:
    assert len(CATALOGUE) > 30


@pytest.mark.parametrize(("name", "reply"), CATALOGUE, ids=[n for n, _ in CATALOGUE])
def test_catalogue_reply(name: str, reply: Reply) -> None:
    assert ReplyCode(reply.code)  # a code we define
    assert reply.lines and all(reply.lines)
    if name in WITHOUT_ENHANCED:
        assert reply.enhanced is None
    else:
        assert reply.enhanced is not None
        assert Enhanced(reply.enhanced)
        assert reply.enhanced[0] == str(reply.code)[0], "class matches the reply code"
    data = reply.to_bytes()
    parser = ReplyParser()
    parser.receive_data(data)
    assert parser.next_reply() == reply
    assert len(data.split(b"\r\n")[0]) <= 510, "RFC 5321 §4.5.3.1.5: 512 octets with CRLF"


@pytest.mark.parametrize(
    "make",
    [
        lambda text: catalogue.ehlo("mx.test", text, ["PIPELINING"]),
        lambda text: catalogue.helo("mx.test", text),
        lambda text: catalogue.bad_parameter(f"bad parameter syntax {text!r}"),
        catalogue.unsupported_parameter,
    ],
    ids=["ehlo", "helo", "bad_parameter", "unsupported_parameter"],
)
def test_client_text_quoted_back_is_cut_short(make: Callable[[str], Reply]) -> None:
    # Found by fuzzing: a 2000-octet MAIL line's unknown parameter came back whole.
    reply = make("X" * 1900 + "é" * 100)
    first = reply.to_bytes().split(b"\r\n")[0]
    assert len(first) <= 510, "RFC 5321 §4.5.3.1.5: 512 octets with CRLF"
    assert b"XXXX" in first and first.rstrip().endswith((b"...", b"... not supported"))
