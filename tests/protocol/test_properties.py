"""Properties over any input: round trips, parsers that fail only their own way, a server
that never raises and always answers in well-formed replies."""

from __future__ import annotations

import contextlib
import re

from hypothesis import given
from hypothesis import strategies as st

from postier.protocol.smtp import Reply, ReplyParser, ServerConfig
from postier.protocol.smtp.address import AddressError, split_path, validate_mailbox
from postier.protocol.smtp.commands import Command, parse_command
from postier.protocol.smtp.data import DataDecoder, DotStuffer
from postier.protocol.smtp.errors import RemoteProtocolError
from postier.protocol.smtp.events import Closing, CommandRefused, StartTlsRequested
from postier.protocol.smtp.state import State
from tests.protocol import wire
from tests.protocol.helpers import FakeSession, at_points, check_replies, examples, merge_chunks

FAST = examples(300)
SLOW = examples(400)

# Bytes rich in what matters to SMTP framing, mixed with anything at all.
framing = st.lists(
    st.one_of(
        st.sampled_from([b"\r", b"\n", b".", b"\r\n", b"\r\n.", b"\r\n.\r\n", b"..", b"x"]),
        st.binary(max_size=8),
    ),
    max_size=40,
).map(b"".join)
cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=10)

_EOL = re.compile(rb"\r\n|\r|\n")


def normalised(message: bytes) -> bytes:
    """What a receiver gets for `message`: CRLF line endings, and a final CRLF."""
    out = _EOL.sub(b"\r\n", message)
    return out if not out or out.endswith(b"\r\n") else out + b"\r\n"


# --- dot-stuffing ------------------------------------------------------------------------


@FAST
@given(message=st.one_of(framing, st.binary(max_size=300)), stuff_at=cuts, decode_at=cuts)
def test_dot_stuffing_round_trip(message: bytes, stuff_at: list[int], decode_at: list[int]) -> None:
    stuffer = DotStuffer()
    wire_form = b"".join(stuffer.feed(p) for p in at_points(stuff_at)(message)) + stuffer.end()
    decoder = DataDecoder(1 << 20, 1 << 20)
    received = b""
    results = [decoder.feed(p) for p in at_points(decode_at)(wire_form)]
    received = b"".join(b"".join(r.pieces) for r in results)
    assert received == normalised(message)
    assert [r.finished for r in results] == [False] * (len(results) - 1) + [True]
    assert sum(r.consumed for r in results) == len(wire_form)
    assert decoder.size == len(received)


@FAST
@given(message=framing, at=cuts)
def test_stuffer_output_does_not_depend_on_the_split(message: bytes, at: list[int]) -> None:
    stuffer = DotStuffer()
    pieces = b"".join(stuffer.feed(p) for p in at_points(at)(message)) + stuffer.end()
    whole = DotStuffer()
    assert pieces == whole.feed(message) + whole.end()
    assert b"\r\n.\r\n" not in pieces[:-3] and not pieces[:-3].startswith(b".\r\n")


@FAST
@given(data=framing, at=cuts, max_size=st.integers(0, 200), line_limit=st.integers(3, 40))
def test_decoder_does_not_depend_on_the_split(
    data: bytes, at: list[int], max_size: int, line_limit: int
) -> None:
    def run(pieces: list[bytes]) -> tuple[object, ...]:
        decoder = DataDecoder(max_size, line_limit)
        out = b""
        consumed = 0
        for piece in pieces:
            result = decoder.feed(piece)
            out += b"".join(result.pieces)
            consumed += result.consumed
            if result.finished:
                return (out, consumed, decoder.size, decoder.too_big, decoder.line_too_long)
        return (out, consumed, None, None, None)

    assert run(at_points(at)(data)) == run([data])


# Lines of every length around the limit, so that the check is tried at its edge.
long_lines = st.lists(
    st.tuples(st.integers(0, 60), st.sampled_from([b"\r\n", b"\n", b"\r", b""])),
    max_size=30,
).map(lambda lines: b"".join(b"x" * length + end for length, end in lines))


@FAST
@given(data=st.one_of(framing, long_lines), at=cuts, line_limit=st.integers(3, 40))
def test_decoder_line_limit_is_the_longest_line(
    data: bytes, at: list[int], line_limit: int
) -> None:
    """`line_too_long` says whether a line of what was handed on, LF excluded, is longer
    than the limit less one (a line of `line_limit` octets counts its LF)."""
    decoder = DataDecoder(1 << 20, line_limit)
    out = b""
    for piece in at_points(at)(data):
        result = decoder.feed(piece)
        out += b"".join(result.pieces)
        if result.finished:
            break
    longest = max(map(len, out.split(b"\n")))
    assert decoder.line_too_long is (longest > line_limit - 1)


# --- the parsers fail only with their own errors ------------------------------------------

smtp_text = st.text(
    alphabet=st.one_of(st.sampled_from('<>@:.,"\\ []=-_+ABCabc019é\x00\t'), st.characters()),
    max_size=80,
)
command_line = st.one_of(
    st.binary(max_size=80),
    st.tuples(
        st.sampled_from([b"MAIL FROM:", b"RCPT TO:", b"EHLO ", b"HELO ", b"VRFY ", b"mail from:"]),
        smtp_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    ).map(b"".join),
)


@FAST
@given(line=command_line)
def test_parse_command_raises_only_its_error(line: bytes) -> None:
    try:
        command = parse_command(line)
    except RemoteProtocolError as exc:
        reply = exc.reply
        assert reply.code >= 500 and reply.enhanced and reply.enhanced[0] == "5"
        check_replies(reply.to_bytes())
    else:
        assert isinstance(command, Command)


@FAST
@given(text=smtp_text)
def test_split_path_raises_only_its_error(text: str) -> None:
    try:
        path = split_path(text)
    except AddressError:
        return
    with contextlib.suppress(AddressError):
        validate_mailbox(path.address, allow_postmaster=True)


@FAST
@given(text=st.one_of(smtp_text, st.emails().map(lambda e: f"@r.test:{e}"), st.emails()))
def test_validate_mailbox_raises_only_its_error(text: str) -> None:
    try:
        mailbox = validate_mailbox(text)
    except AddressError:
        return
    assert len(mailbox.encode()) <= 254


@FAST
@given(data=st.one_of(st.binary(max_size=200), framing), at=cuts)
def test_reply_parser_raises_only_its_error(data: bytes, at: list[int]) -> None:
    parser = ReplyParser()
    try:
        for piece in [*at_points(at)(data), b""]:
            parser.receive_data(piece)
            while (reply := parser.next_reply()) is not None:
                assert 200 <= reply.code <= 599
    except RemoteProtocolError:
        pass


reply_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
    max_size=30,
).filter(lambda t: not re.match(r"\d", t))


@FAST
@given(
    code=st.integers(200, 599),
    lines=st.lists(reply_text, min_size=1, max_size=4),
    detail=st.tuples(st.integers(0, 999), st.integers(0, 999)) | st.none(),
    at=cuts,
)
def test_reply_round_trip(
    code: int, lines: list[str], detail: tuple[int, int] | None, at: list[int]
) -> None:
    enhanced = None if detail is None else f"{code // 100}.{detail[0]}.{detail[1]}"
    reply = Reply(code, tuple(lines), enhanced)
    parser = ReplyParser()
    got = []
    for piece in at_points(at)(reply.to_bytes()):
        parser.receive_data(piece)
        while (parsed := parser.next_reply()) is not None:
            got.append(parsed)
    assert got == [reply]


# --- the server never raises and always answers properly ----------------------------------

TOKENS = [
    b"EHLO client.test",
    b"HELO x",
    b"MAIL FROM:<a@b.test>",
    b"MAIL FROM:<>",
    b"MAIL FROM:<a@b.test> SIZE=10 BODY=8BITMIME",
    "MAIL FROM:<é@b.test> SMTPUTF8".encode(),
    b"RCPT TO:<c@d.test>",
    b"RCPT TO:<postmaster>",
    b"DATA",
    b"RSET",
    b"NOOP",
    b"VRFY x",
    b"HELP",
    b"STARTTLS",
    b"EXPN x",
    b".",
    b"..x",
    b"",
    b"x" * 600,
    b"y" * 2100,
    b"\x00",
    b"\xff\xfe",
]
session_bytes = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(TOKENS), st.binary(max_size=12)),
        st.sampled_from([b"\r\n", b"\r\n", b"\n", b"\r", b""]),
    ),
    max_size=30,
).map(lambda items: b"".join(a + b for a, b in items))
CONFIGS = st.builds(
    ServerConfig,
    hostname=st.just(wire.HOSTNAME),
    max_message_size=st.sampled_from([0, 10, 1000, 1 << 20]),
    max_recipients=st.integers(1, 3),
    max_errors=st.integers(1, 1000),
    tls_available=st.booleans(),
)


@SLOW
@given(data=st.one_of(session_bytes, st.binary(max_size=400)), at=cuts, config=CONFIGS)
def test_server_never_raises(data: bytes, at: list[int], config: ServerConfig) -> None:
    session = FakeSession(config)
    out = session.conn.data_to_send()
    for piece in at_points(at)(data):
        out += session.feed(piece)
    replies = check_replies(out)
    parser = ReplyParser()
    parser.receive_data(out)
    parsed = []
    while (reply := parser.next_reply()) is not None:
        parsed.append(reply)
    assert len(parsed) == len(replies)
    refusals = [e.reply for e in session.events if isinstance(e, CommandRefused)]
    closings = [e.reply for e in session.events if isinstance(e, Closing)]
    assert all(r in parsed for r in refusals + closings)
    assert all(r.code >= 400 for r in refusals)
    # A connection ends with 221 after QUIT, or with 421/554 when the server ends it.
    assert all(r.code in (221, 421, 554) for r in closings)
    closed = session.conn.state is State.CLOSED
    assert closed == any(isinstance(e, Closing) for e in session.events)
    restarted = any(isinstance(e, StartTlsRequested) for e in session.events)
    if not closed and not restarted:
        assert session.conn.lines_received == data.count(b"\n")


@SLOW
@given(data=session_bytes, at=cuts, config=CONFIGS)
def test_server_does_not_depend_on_the_split(
    data: bytes, at: list[int], config: ServerConfig
) -> None:
    # Without TLS: bytes sent while a handshake is pending depend on timing by nature.
    config = ServerConfig(
        hostname=config.hostname,
        max_message_size=config.max_message_size,
        max_recipients=config.max_recipients,
        max_errors=config.max_errors,
    )
    whole = FakeSession(config)
    whole_out = whole.conn.data_to_send() + (whole.feed(data) if data else b"")
    split = FakeSession(config)
    split_out = split.conn.data_to_send()
    split_out += b"".join(split.feed(piece) for piece in at_points(at)(data))
    assert split_out == whole_out
    assert merge_chunks(split.events) == merge_chunks(whole.events)
    assert split.messages == whole.messages
