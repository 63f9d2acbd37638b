"""`ServerConnection` beyond the tables: the line counter, buffering, pausing, API misuse."""

from __future__ import annotations

import pytest

from postier.protocol.smtp import (
    NEED_DATA,
    PAUSED,
    SEND_FIRST,
    LocalProtocolError,
    ServerConfig,
    ServerConnection,
)
from postier.protocol.smtp.events import DataChunk, MessageComplete, StartTlsRequested
from postier.protocol.smtp.state import State
from tests.protocol import wire
from tests.protocol.helpers import CONFIG, STORED_REPLY, TLS_CONFIG, FakeSession, drain, reply_of

ENVELOPE = b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"


def connection(config: ServerConfig = CONFIG) -> ServerConnection:
    conn = ServerConnection(config)
    assert conn.data_to_send() == wire.GREETING
    return conn


def test_lines_received_counts_command_and_data_lines() -> None:
    conn = connection()
    conn.receive_data(b"EHLO client.test\r\nNOOP")
    drain(conn)
    assert conn.lines_received == 1, "a partial line is not a line yet"
    conn.receive_data(b"\r\nMAIL FROM:<a@b.test>\nRCPT TO:<c@d.test>\r\nDATA\r\n")
    drain(conn)
    assert conn.lines_received == 5
    conn.receive_data(b"Subject: x\r\n\r\nbody")
    drain(conn)
    assert conn.lines_received == 7
    conn.receive_data(b" line\r\n.\r\n")
    drain(conn)
    assert conn.lines_received == 9
    conn.answer_message(STORED_REPLY)
    conn.receive_data(b"NOOP " + b"x" * 3000 + b"\r\n")
    drain(conn)
    assert conn.lines_received == 10, "a line too long is one line"


def test_lines_received_advances_at_each_line_end_one_byte_at_a_time() -> None:
    conn = connection()
    data = ENVELOPE + b"one\r\n..two\r\nthree\nfour\r\n.\r\nNOOP\r\nQUIT\r\n"
    for i in range(len(data)):
        conn.receive_data(data[i : i + 1])
        for event in drain(conn):
            if isinstance(event, MessageComplete):
                conn.answer_message(STORED_REPLY)
                drain(conn)
        assert conn.lines_received == data[: i + 1].count(b"\n"), i


def test_a_line_too_long_is_never_buffered() -> None:
    conn = connection()
    limit = CONFIG.extended_command_line_limit
    for _ in range(1000):
        conn.receive_data(b"x" * 1000)
        assert drain(conn) == []
        # The receive buffer is the only place a partial command line is held.
        assert len(conn._input.partial_line) <= limit
    conn.receive_data(b"\r\nNOOP\r\n")
    drain(conn)
    assert conn.data_to_send() == wire.LINE_TOO_LONG + wire.OK


def test_replies_to_a_pipelined_burst_stop_piling_up_at_the_output_limit() -> None:
    conn = connection()
    burst = b"EHLO client.test\r\n" + b"HELP\r\n" * 20_000
    conn.receive_data(burst)
    assert conn.next_event() is not SEND_FIRST  # Greeted: the EHLO reply is small
    assert conn.next_event() is SEND_FIRST
    held = conn.data_to_send()
    assert CONFIG.output_limit <= len(held) < CONFIG.output_limit + 512
    assert conn.next_event() is SEND_FIRST
    lines = conn.lines_received
    # Nothing more is processed while the replies are not taken...
    assert conn.next_event() is SEND_FIRST
    assert conn.next_event() is SEND_FIRST
    assert conn.lines_received == lines
    # ...and once they are, the next stretch of the burst is.
    conn.data_to_send()
    assert conn.next_event() is SEND_FIRST
    assert conn.lines_received > lines


def test_a_burst_held_back_is_answered_in_full_once_replies_are_sent() -> None:
    session = FakeSession()
    session.feed(b"")
    out = session.feed(b"EHLO client.test\r\n" + b"HELP\r\n" * 5_000 + b"NOOP\r\n")
    assert session.send_first_stops > 0
    assert out.count(wire.HELP) == 5_000
    assert out.endswith(wire.OK)


def test_paused_until_the_message_is_answered() -> None:
    conn = connection()
    conn.receive_data(ENVELOPE + b"hi\r\n.\r\nNOOP\r\n")
    events = drain(conn)
    assert isinstance(events[-1], MessageComplete)
    assert conn.data_to_send().endswith(wire.START_DATA)
    for _ in range(3):
        assert conn.next_event() is PAUSED
    conn.receive_data(b"RSET\r\n")
    assert conn.next_event() is PAUSED
    assert conn.data_to_send() == b"", "nothing pipelined behind the data is answered yet"
    assert conn.state is State.DELIVERING and conn.in_transaction
    conn.answer_message(STORED_REPLY)
    assert drain(conn) == []
    assert conn.data_to_send() == wire.STORED + wire.OK + wire.RESET
    assert conn.next_event() is NEED_DATA
    assert not conn.in_transaction


def test_paused_while_tls_is_pending() -> None:
    conn = connection(TLS_CONFIG)
    conn.receive_data(b"EHLO client.test\r\nSTARTTLS\r\nNOOP\r\n")
    assert drain(conn)[-1] == StartTlsRequested()
    assert conn.next_event() is PAUSED
    conn.tls_started()
    assert conn.tls_active
    assert conn.next_event() is NEED_DATA
    assert conn.data_to_send() == wire.ehlo(starttls=True) + wire.READY_FOR_TLS


def test_answer_message_without_a_message() -> None:
    conn = connection()
    with pytest.raises(LocalProtocolError):
        conn.answer_message(STORED_REPLY)
    conn.receive_data(ENVELOPE + b"x")
    drain(conn)
    with pytest.raises(LocalProtocolError):
        conn.answer_message(STORED_REPLY)


def test_tls_started_without_starttls() -> None:
    conn = connection(TLS_CONFIG)
    with pytest.raises(LocalProtocolError):
        conn.tls_started()
    conn.receive_data(b"EHLO client.test\r\n")
    drain(conn)
    with pytest.raises(LocalProtocolError):
        conn.tls_started()


def test_peer_closed() -> None:
    conn = connection()
    assert not conn.peer_closed
    conn.receive_data(b"NOOP\r\n")
    conn.receive_data(b"")
    assert conn.peer_closed
    drain(conn)
    assert conn.data_to_send() == wire.OK, "what came before the close is still answered"


def test_closing_twice_sends_one_reply() -> None:
    conn = connection()
    conn.timed_out()
    conn.shutdown()
    conn.shutdown(force=True)
    conn.timed_out()
    assert conn.data_to_send() == wire.TIMEOUT
    assert len(drain(conn)) == 1


def test_data_chunks_are_handed_on_as_they_come() -> None:
    conn = connection()
    conn.receive_data(ENVELOPE)
    drain(conn)
    for i in range(100):
        conn.receive_data(b"line %d\r\n" % i)
        chunks = [e for e in drain(conn) if isinstance(e, DataChunk)]
        assert chunks, "data is streamed, never held until the end"


def test_refused_message_is_not_answered_by_the_session() -> None:
    conn = connection()
    conn.receive_data(ENVELOPE + b"x" * 1200 + b"\r\n.\r\n")
    drain(conn)
    assert conn.state is State.READY
    with pytest.raises(LocalProtocolError):
        conn.answer_message(reply_of(wire.STORED))


def test_public_names() -> None:
    import postier.protocol.smtp

    assert sorted(postier.protocol.smtp.__all__) == [
        "ACCEPT",
        "Accept",
        "AddressError",
        "Auth",
        "Authenticated",
        "Awaited",
        "Bdat",
        "COMMAND_STATES",
        "Capabilities",
        "ClientConnection",
        "ClientEvent",
        "ClientGreeted",
        "ClientState",
        "Closed",
        "Closing",
        "Command",
        "CommandRefused",
        "Credentials",
        "CredentialsReceived",
        "Data",
        "DataChunk",
        "DataReady",
        "DataStarted",
        "Done",
        "Ehlo",
        "Enhanced",
        "Greeting",
        "HELO_ONLY",
        "Helo",
        "HeloAccepted",
        "Help",
        "IDLE",
        "LOGIN",
        "LocalProtocolError",
        "MECHANISMS",
        "Mail",
        "MessageComplete",
        "MessageRefused",
        "NEED_DATA",
        "Noop",
        "Observer",
        "OutgoingEnvelope",
        "PAUSED",
        "PLAIN",
        "Party",
        "Pause",
        "ProtocolError",
        "Quit",
        "Rcpt",
        "RecipientAccepted",
        "RecipientOffered",
        "Refused",
        "RemoteProtocolError",
        "Reply",
        "ReplyCode",
        "ReplyParser",
        "Rset",
        "SEND_FIRST",
        "SenderOffered",
        "ServerConfig",
        "ServerConnection",
        "ServerEvent",
        "StartTls",
        "StartTlsRequested",
        "State",
        "TRANSITIONS",
        "TlsReady",
        "TransactionDone",
        "TransactionResult",
        "TransactionStarted",
        "Verdict",
        "Vrfy",
        "Wait",
        "has_eight_bit",
        "is_domain",
        "parse_command",
        "refusal_before_sending",
        "validate_mailbox",
        "verb_of",
        "wire_size",
    ]
    assert all(hasattr(postier.protocol.smtp, name) for name in postier.protocol.smtp.__all__)
