"""What goes upstream and what never does: byte-exact relayed copies behind postier's
`Received:`, only the recipients `--relay-match` selects (never an open relay), and
the envelope sender `--relay-from` names; a real `postier serve` and aiosmtpd."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postier.relay.deliverer import LOOK_EVERY
from tests.relay.upstream import (
    OUT,
    Upstream,
    queue_json,
    relaying,
    send,
    send_raw,
    tokened,
    tokens_of,
    wait_until,
)
from tests.support.mailboxes import messages
from tests.support.server import ServerProcess

_RECEIVED = re.compile(rb"Received: [^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*\Z")

# (name, recipient, data, MAIL options): each carries "case-NAME" to be told apart.
CONTENT_CASES: list[tuple[str, str, bytes, tuple[str, ...]]] = [
    (
        "dots",
        "dots@out.test",
        b"Subject: case-dots\r\n\r\n.leading\r\n..two\r\n.\r\nmiddle\r\n. space\r\n.\r\n",
        (),
    ),
    (
        "eight-bit",
        "eight@out.test",
        b"Subject: case-eight-bit\r\nContent-Type: text/plain; charset=latin-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9 \xff\x80\x01\r\n\xc3\xa9t\xc3\xa9\r\n",
        ("BODY=8BITMIME",),
    ),
    (
        "smtputf8",
        "jos\u00e9@out.test",
        "Subject: case-smtputf8 \u00e7a va\r\nFrom: Jos\u00e9 <jos\u00e9@here.test>\r\n"
        "To: jos\u00e9@out.test\r\n\r\n\u65e5\u672c\u8a9e\r\n".encode(),
        ("SMTPUTF8", "BODY=8BITMIME"),
    ),
    (
        "from-line",
        "mbox@out.test",
        b"Subject: case-from-line\r\n\r\nFrom the start\r\n>From quoted\r\nFrom \r\n",
        (),
    ),
    ("long-line", "long@out.test", b"Subject: case-long-line\r\n\r\n" + b"x" * 998 + b"\r\n", ()),
    (
        "folded",
        "fold@out.test",
        b"Subject: case-folded\r\nX-Long: one\r\n\ttwo\r\n  three\r\n\r\n\r\n\r\nend\r\n",
        (),
    ),
]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def _server(tmp_path: Path, upstream: Upstream, *args: str) -> ServerProcess:
    return relaying(
        tmp_path / "mail", upstream.port, "--relay-exclude", r"noreply@out\.test", *args
    )


def _case(content: bytes) -> bytes:
    found = re.search(rb"case-[a-z0-9-]+", content)
    assert found is not None, content[:300]
    return found.group(0)


def _received_block(content: bytes, data: bytes) -> bytes:
    """The part of `content` before `data`, which must end it byte for byte."""
    assert content.endswith(data), (content[-300:], data[-300:])
    return content[: len(content) - len(data)]


def test_relayed_copies_are_the_clients_bytes_behind_one_received(
    tmp_path: Path, upstream: Upstream
) -> None:
    with _server(tmp_path, upstream) as server:
        for _, recipient, data, options in CONTENT_CASES:
            send(server, [recipient], data, options=options)
        wait_until(lambda: len(upstream.messages) >= len(CONTENT_CASES), what="every case")
    by_case = {_case(m.content): m for m in upstream.messages}
    assert len(by_case) == len(upstream.messages) == len(CONTENT_CASES)
    for name, recipient, data, options in CONTENT_CASES:
        message = by_case[f"case-{name}".encode()]
        assert message.recipients == [recipient], name
        assert message.sender == "me@here.test"
        head = _received_block(message.content, data)
        assert _RECEIVED.match(head), (name, head)
        unfolded = re.sub(rb"\r\n[ \t]+", b" ", head)
        assert b" by mx.test " in unfolded, (name, head)
        assert f" for <{recipient}>;".encode() in unfolded, (name, head)
        for option in options:
            assert option in message.mail_options, (name, message.mail_options)


def test_only_matched_and_not_excluded_recipients_go_upstream(
    tmp_path: Path, upstream: Upstream
) -> None:
    recipients = ["a@out.test", "local@in.test", "noreply@out.test", "B@OUT.TEST"]
    data = tokened("token-mixed-1")
    with _server(tmp_path, upstream) as server:
        send(server, recipients, data)
        wait_until(lambda: upstream.messages, what="the relayed copy")
        send(server, ["marker@out.test"], tokened("token-marker-2"))  # sent after: a barrier
        wait_until(lambda: len(upstream.messages) >= 2, what="the marker")
        store = server.store
    first, marker = upstream.messages
    assert tokens_of([marker]) == [b"token-marker-2"]
    assert first.recipients == ["a@out.test", "B@OUT.TEST"]
    head = _received_block(first.content, data)
    assert b"for <" not in head  # two recipients: the trace names neither (RFC 5321 §4.4)
    for recipient in recipients:  # every recipient has the local copy, relayed or not
        [stored] = messages(store, recipient, "mbox")
        assert b"token-mixed-1" in stored, recipient


@pytest.mark.parametrize(
    ("match", "recipient"),
    [(None, "a@out.test"), (OUT, "a@elsewhere.test"), (OUT, "a@out.test.evil")],
    ids=["no-relay-match", "unmatched", "suffix-is-not-a-match"],
)
def test_nothing_leaves_unless_a_recipient_matches(
    tmp_path: Path, upstream: Upstream, match: str | None, recipient: str
) -> None:
    with relaying(tmp_path / "mail", upstream.port, match=match) as server:
        send(server, [recipient], tokened("token-kept-1"))
        log = server.wait_for_log(r"accepted \S+ from <me@here.test>")
        if match is None:
            assert "without --relay-match: nothing is relayed" in log
            # No recipient can be relayed, so no later message can show that the
            # deliverer had its turn: give it two looks at the queue's directory.
            time.sleep(2 * LOOK_EVERY + 0.5)
        else:
            # A matching message sent after it arrives after it would have.
            send(server, ["marker@out.test"], tokened("token-marker-2"))
            wait_until(lambda: upstream.messages, what="the marker")
        assert queue_json(server.store) == []
        [stored] = messages(server.store, recipient, "mbox")
        assert b"token-kept-1" in stored
        log = server.log_text()
    assert not re.search(r"(queued|relayed) \S+ \(\S+\) [^\n]*<a@", log)
    if match is None:
        assert upstream.messages == [] and upstream.handler.data_seen == []
    else:
        assert tokens_of(upstream.messages) == [b"token-marker-2"]
        assert len(upstream.handler.data_seen) == 1


def test_bare_line_ends_in_the_data_cannot_end_it_early_upstream(
    tmp_path: Path, upstream: Upstream
) -> None:
    """SMTP smuggling through the relay: a bare LF or CR before a dot must not become
    the upstream's end of data, so the "message" after it is never a transaction there.
    (The relay sends bare CR and LF as CRLF, RFC 5321 §2.3.8; the dot after is stuffed.)"""
    smuggled = (
        b"RSET\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@out.test>\r\nDATA\r\n"
        b"Subject: smuggled\r\n\r\nbad\r\n"
    )
    data = b"Subject: case-smuggle\r\n\r\nlf\n.\r\n" + smuggled + b"cr\r.\r\n" + smuggled
    with _server(tmp_path, upstream) as server:
        assert send_raw(server, "a@out.test", data + b".\r\n").startswith(b"250")
        wait_until(lambda: upstream.messages, what="the relayed copy")
        send(server, ["marker@out.test"], tokened("token-marker-2"))
        wait_until(lambda: len(upstream.messages) >= 2, what="the marker")
    first, marker = upstream.messages
    assert first.sender == "me@here.test" and first.recipients == ["a@out.test"]
    expected = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    _received_block(first.content, expected)
    assert tokens_of([marker]) == [b"token-marker-2"]
    assert len(upstream.handler.data_seen) == 2  # no third, smuggled transaction


def test_relay_from_is_the_envelope_sender_upstream(tmp_path: Path, upstream: Upstream) -> None:
    with _server(tmp_path, upstream, "--relay-from", "bounces@relay.test") as server:
        send(server, ["a@out.test"], tokened("token-from-1"), sender="orig@here.test")
        wait_until(lambda: upstream.messages, what="the relayed copy")
        [stored] = messages(server.store, "a@out.test", "mbox")
    [message] = upstream.messages
    assert message.sender == "bounces@relay.test"
    assert b"From: me@here.test" in message.content  # the header is left as it was
    assert stored.startswith(b"Return-Path: <orig@here.test>")  # the local copy's own
