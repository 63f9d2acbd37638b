"""The server's conversations as tables: client bytes in, exact reply bytes and events out.

Each `Case` is replayed by `test_server_io.py` whole, one byte at a time and in random
chunks. Names: `a@b.test` sends to `c@d.test` unless a case says otherwise.
"""

from __future__ import annotations

from typing import Any

from postier.protocol.smtp import ServerConfig
from postier.protocol.smtp.events import (
    DataChunk,
    DataStarted,
    RecipientAccepted,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.smtp.events import (
    HeloAccepted as Greeted,
)
from postier.protocol.smtp.state import State
from tests.protocol import wire
from tests.protocol.helpers import (
    CONFIG,
    TLS_CONFIG,
    Answer,
    Case,
    PeerClosed,
    Shutdown,
    Step,
    TimedOut,
    Tls,
    closing,
    complete,
    message_refused,
    refused,
    reply_of,
    step,
)

# --- the usual steps ------------------------------------------------------------------

EHLO = step(b"EHLO client.test\r\n", wire.ehlo(), Greeted("client.test", True), state=State.READY)
EHLO_TLS = step(
    b"EHLO client.test\r\n",
    wire.ehlo(starttls=True),
    Greeted("client.test", True),
    state=State.READY,
)
MAIL = step(
    b"MAIL FROM:<a@b.test>\r\n",
    wire.sender_ok("a@b.test"),
    TransactionStarted("a@b.test"),
    state=State.MAIL,
)
RCPT = step(
    b"RCPT TO:<c@d.test>\r\n",
    wire.recipient_ok("c@d.test"),
    RecipientAccepted("c@d.test"),
    state=State.RCPT,
)
DATA = step(b"DATA\r\n", wire.START_DATA, DataStarted(), state=State.DATA)
ENVELOPE = [EHLO, MAIL, RCPT, DATA]
ANSWER = step(Answer(), wire.STORED, state=State.READY)
QUIT = step(b"QUIT\r\n", wire.BYE, closing(wire.BYE), state=State.CLOSED)
NOOP = step(b"NOOP\r\n", wire.OK)


def body(data: bytes, message: bytes, *, size: int | None = None, **fields: Any) -> Step:
    """Data that ends the message: `message` is the part of it this step hands on, and
    `size` the whole message's size when earlier steps handed on the rest."""
    events = (DataChunk(message),) if message else ()
    size = len(message) if size is None else size
    return step(data, b"", *events, complete(size, **fields), state=State.DELIVERING)


def deliver(data: bytes, message: bytes, *, size: int | None = None, **fields: Any) -> list[Step]:
    return [body(data, message, size=size, **fields), ANSWER]


def refuse(data: bytes, reply: bytes, *, state: State | None = None) -> Step:
    """A command refused with `reply`, leaving the state as it was."""
    return step(data, reply, refused(reply), state=state)


def config(**fields: Any) -> ServerConfig:
    return ServerConfig(hostname=wire.HOSTNAME, **fields)


def ehlo_for(cfg: ServerConfig) -> Step:
    return step(
        b"EHLO client.test\r\n",
        wire.ehlo(size=cfg.max_message_size, starttls=cfg.tls_available),
        Greeted("client.test", True),
    )


# --- every command ----------------------------------------------------------------------

COMMANDS = [
    Case("ehlo", [EHLO]),
    Case(
        "ehlo-lower-case",
        [step(b"ehlo client.test\r\n", wire.ehlo(), Greeted("client.test", True))],
    ),
    Case(
        "ehlo-mixed-case",
        [step(b"EhLo client.test\r\n", wire.ehlo(), Greeted("client.test", True))],
    ),
    Case(
        "ehlo-address-literal",
        [
            step(
                b"EHLO [192.0.2.1]\r\n",
                wire.ehlo(name="[192.0.2.1]"),
                Greeted("[192.0.2.1]", True),
            )
        ],
    ),
    Case(
        "ehlo-without-name",
        [refuse(b"EHLO\r\n", wire.syntax("EHLO hostname"), state=State.CONNECTED)],
    ),
    Case(
        "ehlo-two-names",
        [refuse(b"EHLO a.test b.test\r\n", wire.syntax("EHLO hostname"), state=State.CONNECTED)],
    ),
    Case("ehlo-offers-starttls-when-tls-available", [EHLO_TLS], config=TLS_CONFIG),
    Case("ehlo-over-tls-no-starttls", [EHLO], config=TLS_CONFIG, tls_active=True),
    Case(
        "ehlo-size-follows-config",
        [ehlo_for(config(max_message_size=1000))],
        config=config(max_message_size=1000),
    ),
    Case(
        "helo",
        [
            step(b"HELO client.test\r\n", wire.helo(), Greeted("client.test", False)),
            MAIL,
            RCPT,
            DATA,
            *deliver(b"hi\r\n.\r\n", b"hi\r\n", protocol="SMTP"),
        ],
    ),
    Case(
        "helo-lower-case",
        [step(b"helo client.test\r\n", wire.helo(), Greeted("client.test", False))],
    ),
    Case("helo-without-name", [refuse(b"HELO\r\n", wire.syntax("HELO hostname"))]),
    Case(
        "ehlo-again-resets-the-transaction",
        [EHLO, MAIL, RCPT, EHLO, refuse(b"RCPT TO:<c@d.test>\r\n", wire.NEED_MAIL), MAIL],
    ),
    Case(
        "helo-after-ehlo",
        [EHLO, step(b"HELO other.test\r\n", wire.helo("other.test"), Greeted("other.test", False))],
    ),
    Case(
        "mail-size-and-body-8bitmime",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test> SIZE=7 BODY=8BITMIME\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
            RCPT,
            DATA,
            *deliver(b"caf\xc3\xa9\r\n.\r\n", b"caf\xc3\xa9\r\n", body="8BITMIME"),
        ],
    ),
    Case(
        "mail-body-7bit-lower-case",
        [
            EHLO,
            step(
                b"mail from:<a@b.test> body=7bit\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
            RCPT,
            DATA,
            *deliver(b"x\r\n.\r\n", b"x\r\n", body="7BIT"),
        ],
    ),
    Case(
        "mail-body-unknown",
        [
            EHLO,
            refuse(
                b"MAIL FROM:<a@b.test> BODY=8BIT\r\n",
                wire.bad_parameter("BODY takes 7BIT, 8BITMIME or BINARYMIME"),
                state=State.READY,
            ),
        ],
    ),
    Case(
        "mail-size-not-a-number",
        [
            EHLO,
            refuse(
                b"MAIL FROM:<a@b.test> SIZE=ten\r\n",
                wire.bad_parameter("SIZE takes a number of octets"),
                state=State.READY,
            ),
        ],
    ),
    Case(
        "mail-size-over-the-limit",
        [
            ehlo_for(config(max_message_size=1000)),
            refuse(
                b"MAIL FROM:<a@b.test> SIZE=1001\r\n", wire.size_exceeded(1000), state=State.READY
            ),
            step(
                b"MAIL FROM:<a@b.test> SIZE=1000\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
                state=State.MAIL,
            ),
        ],
        config=config(max_message_size=1000),
    ),
    Case(
        "mail-smtputf8",
        [
            EHLO,
            step(
                "MAIL FROM:<usér@exämple.test> SMTPUTF8\r\n".encode(),
                wire.sender_ok("usér@exämple.test"),
                TransactionStarted("usér@exämple.test"),
            ),
            step(
                "RCPT TO:<dëst@exämple.test>\r\n".encode(),
                wire.recipient_ok("dëst@exämple.test"),
                RecipientAccepted("dëst@exämple.test"),
            ),
            DATA,
            *deliver(
                b"x\r\n.\r\n",
                b"x\r\n",
                sender="usér@exämple.test",
                recipients=("dëst@exämple.test",),
                protocol="UTF8SMTP",
                smtputf8=True,
            ),
        ],
    ),
    Case(
        "mail-non-ascii-without-smtputf8",
        [
            EHLO,
            refuse(
                "MAIL FROM:<usér@exämple.test>\r\n".encode(), wire.NEEDS_SMTPUTF8, state=State.READY
            ),
        ],
    ),
    Case(
        "rcpt-non-ascii-without-smtputf8",
        [
            EHLO,
            MAIL,
            refuse(
                "RCPT TO:<dëst@exämple.test>\r\n".encode(), wire.NEEDS_SMTPUTF8, state=State.MAIL
            ),
        ],
    ),
    Case(
        "mail-smtputf8-with-a-value",
        [
            EHLO,
            refuse(
                b"MAIL FROM:<a@b.test> SMTPUTF8=yes\r\n",
                wire.bad_parameter("SMTPUTF8 takes no value"),
            ),
        ],
    ),
    Case(
        "mail-null-sender",
        [
            EHLO,
            step(b"MAIL FROM:<>\r\n", b"250 2.1.0 Sender <> OK\r\n", TransactionStarted("")),
            RCPT,
            DATA,
            *deliver(b"bounce\r\n.\r\n", b"bounce\r\n", sender=""),
        ],
    ),
    Case(
        "mail-unknown-parameter",
        [
            EHLO,
            refuse(b"MAIL FROM:<a@b.test> ret=HDRS\r\n", wire.unsupported_parameter("RET")),
            refuse(
                b"MAIL FROM:<a@b.test> MT-PRIORITY=3\r\n", wire.unsupported_parameter("MT-PRIORITY")
            ),
        ],
    ),
    Case(
        "mail-duplicate-parameter",
        [
            EHLO,
            refuse(
                b"MAIL FROM:<a@b.test> SIZE=1 size=2\r\n",
                wire.bad_parameter("duplicate parameter SIZE"),
            ),
        ],
    ),
    Case(
        "mail-parameter-syntax",
        [
            EHLO,
            refuse(b"MAIL FROM:<a@b.test> =x\r\n", wire.bad_parameter("bad parameter syntax '=x'")),
        ],
    ),
    Case(
        "mail-without-from",
        [
            EHLO,
            refuse(b"MAIL a@b.test\r\n", wire.syntax("MAIL FROM:<address>")),
            refuse(b"MAIL FROM:\r\n", wire.syntax("MAIL FROM:<address>")),
            refuse(b"MAIL\r\n", wire.syntax("MAIL FROM:<address>")),
        ],
    ),
    Case(
        "mail-bad-address",
        [
            EHLO,
            refuse(b"MAIL FROM:<no-at-sign>\r\n", wire.bad_sender("not a valid address")),
            refuse(b"MAIL FROM:<a@b.test\r\n", wire.bad_sender("missing closing '>'")),
            refuse(b"MAIL FROM:<a@@b.test>\r\n", wire.bad_sender("not a valid address")),
            refuse(
                b"MAIL FROM:<" + b"x" * 65 + b"@b.test>\r\n",
                wire.bad_sender("local part longer than 64 octets"),
            ),
        ],
    ),
    Case(
        "mail-lenient-forms",
        [
            EHLO,
            step(
                b"MAIL FROM: <a@b.test>\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
            RCPT,
            step(b"RSET\r\n", wire.RESET),
            step(
                b"MAIL FROM:a@b.test\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
        ],
        notes="a space after the colon and a bare address are read as meant",
    ),
    Case(
        "mail-source-route-ignored",
        [
            EHLO,
            step(
                b"MAIL FROM:<@relay.test:a@b.test>\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
        ],
    ),
    Case(
        "rcpt-postmaster-without-domain",
        [
            EHLO,
            MAIL,
            step(
                b"RCPT TO:<postmaster>\r\n",
                wire.recipient_ok("postmaster"),
                RecipientAccepted("postmaster"),
            ),
            step(
                b"rcpt to:<Postmaster>\r\n",
                wire.recipient_ok("Postmaster"),
                RecipientAccepted("Postmaster"),
            ),
            step(
                b"RCPT TO:<POSTMASTER>\r\n",
                wire.recipient_ok("POSTMASTER"),
                RecipientAccepted("POSTMASTER"),
            ),
            DATA,
            *deliver(
                b"x\r\n.\r\n", b"x\r\n", recipients=("postmaster", "Postmaster", "POSTMASTER")
            ),
        ],
    ),
    Case(
        "rcpt-lower-case",
        [
            EHLO,
            MAIL,
            step(
                b"rcpt to:<c@d.test>\r\n",
                wire.recipient_ok("c@d.test"),
                RecipientAccepted("c@d.test"),
            ),
        ],
    ),
    Case(
        "rcpt-bad-address",
        [
            EHLO,
            MAIL,
            refuse(b"RCPT TO:<>\r\n", wire.bad_recipient("not a valid address"), state=State.MAIL),
            refuse(b"RCPT TO:<user>\r\n", wire.bad_recipient("not a valid address")),
            refuse(b"RCPT TO:<c@d.test\r\n", wire.bad_recipient("missing closing '>'")),
            refuse(b"RCPT <c@d.test>\r\n", wire.syntax("RCPT TO:<address>")),
            refuse(
                b"RCPT TO:<c@d.test> NOTIFY=NEVER\r\n",
                wire.unsupported_parameter("NOTIFY"),
                state=State.MAIL,
            ),
        ],
    ),
    Case(
        "rset",
        [
            EHLO,
            MAIL,
            RCPT,
            step(b"RSET\r\n", wire.RESET, state=State.READY),
            refuse(b"RCPT TO:<c@d.test>\r\n", wire.NEED_MAIL),
            MAIL,
            refuse(b"RSET now\r\n", wire.syntax("RSET"), state=State.MAIL),
            step(b"rset\r\n", wire.RESET, state=State.READY),
        ],
    ),
    Case(
        "rset-before-ehlo-keeps-the-greeting-required",
        [
            step(b"RSET\r\n", wire.RESET, state=State.CONNECTED),
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NEED_HELO),
        ],
    ),
    Case(
        "noop",
        [
            step(b"NOOP\r\n", wire.OK, state=State.CONNECTED),
            EHLO,
            MAIL,
            step(b"noop anything at all\r\n", wire.OK, state=State.MAIL),
        ],
    ),
    Case(
        "vrfy",
        [
            step(b"VRFY someone\r\n", wire.CANNOT_VRFY),
            EHLO,
            step(b"vrfy <c@d.test>\r\n", wire.CANNOT_VRFY),
            refuse(b"VRFY\r\n", wire.syntax("VRFY address")),
        ],
    ),
    Case(
        "help",
        [
            step(b"HELP\r\n", wire.HELP),
            step(b"help mail\r\n", wire.HELP),
        ],
    ),
    Case("quit", [EHLO, QUIT, step(b"NOOP\r\n")]),
    Case("quit-before-ehlo", [QUIT]),
    Case("quit-lower-case", [step(b"quit\r\n", wire.BYE, closing(wire.BYE))]),
    Case(
        "quit-in-a-transaction",
        [EHLO, MAIL, RCPT, step(b"QUIT\r\nRCPT TO:<x@d.test>\r\n", wire.BYE, closing(wire.BYE))],
    ),
    Case("quit-with-an-argument", [refuse(b"QUIT now\r\n", wire.syntax("QUIT"))]),
    Case(
        "several-transactions",
        [
            *ENVELOPE,
            *deliver(b"one\r\n.\r\n", b"one\r\n"),
            step(
                b"MAIL FROM:<e@f.test>\r\n",
                wire.sender_ok("e@f.test"),
                TransactionStarted("e@f.test"),
            ),
            step(
                b"RCPT TO:<g@h.test>\r\n",
                wire.recipient_ok("g@h.test"),
                RecipientAccepted("g@h.test"),
            ),
            step(
                b"RCPT TO:<i@j.test>\r\n",
                wire.recipient_ok("i@j.test"),
                RecipientAccepted("i@j.test"),
            ),
            DATA,
            *deliver(
                b"two\r\n.\r\n", b"two\r\n", sender="e@f.test", recipients=("g@h.test", "i@j.test")
            ),
            MAIL,
            RCPT,
            DATA,
            *deliver(b"three\r\n.\r\n", b"three\r\n"),
            QUIT,
        ],
    ),
    Case(
        "message-not-stored",
        [
            *ENVELOPE,
            body(b"x\r\n.\r\n", b"x\r\n"),
            step(
                Answer(
                    reply_of(b"451 4.3.0 Error: local error in processing, try again later\r\n")
                ),
                b"451 4.3.0 Error: local error in processing, try again later\r\n",
                state=State.READY,
            ),
            MAIL,
        ],
    ),
]

# --- out of sequence, unknown, unimplemented -----------------------------------------------

SEQUENCE = [
    Case("mail-before-ehlo", [refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NEED_HELO)]),
    Case("rcpt-before-ehlo", [refuse(b"RCPT TO:<c@d.test>\r\n", wire.NEED_HELO)]),
    Case("data-before-ehlo", [refuse(b"DATA\r\n", wire.NEED_HELO)]),
    Case("rcpt-before-mail", [EHLO, refuse(b"RCPT TO:<c@d.test>\r\n", wire.NEED_MAIL)]),
    Case("data-before-mail", [EHLO, refuse(b"DATA\r\n", wire.NEED_MAIL, state=State.READY)]),
    Case("data-before-rcpt", [EHLO, MAIL, refuse(b"DATA\r\n", wire.NEED_RCPT, state=State.MAIL)]),
    Case(
        "data-with-an-argument",
        [EHLO, MAIL, RCPT, refuse(b"DATA now\r\n", wire.syntax("DATA"), state=State.RCPT)],
    ),
    Case(
        "nested-mail",
        [
            EHLO,
            MAIL,
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NESTED_MAIL, state=State.MAIL),
            RCPT,
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NESTED_MAIL, state=State.RCPT),
        ],
    ),
    Case(
        "unknown-command",
        [
            refuse(b"FOO\r\n", wire.UNRECOGNIZED),
            refuse(b"MAILFROM:<a@b.test>\r\n", wire.UNRECOGNIZED),
            refuse(b"NOOP\tx\r\n", wire.UNRECOGNIZED),
            refuse(b"\r\n", wire.UNRECOGNIZED),
            refuse(b"   \r\n", wire.UNRECOGNIZED),
            refuse(b" NOOP\r\n", wire.UNRECOGNIZED),
            refuse(b"ABCDEFGHIJKLMNOPQ\r\n", wire.UNRECOGNIZED),
        ],
    ),
    Case(
        "unimplemented",
        [
            EHLO,
            refuse(b"EXPN list\r\n", wire.not_implemented("EXPN")),
            refuse(b"TURN\r\n", wire.not_implemented("TURN")),
            refuse(b"etrn d.test\r\n", wire.not_implemented("ETRN")),
            refuse(b"AUTH PLAIN AGFAAGI=\r\n", wire.not_implemented("AUTH")),
            refuse(b"SEND FROM:<a@b.test>\r\n", wire.not_implemented("SEND")),
            NOOP,
        ],
    ),
]

# --- limits -------------------------------------------------------------------------------

NOOP_512 = b"NOOP " + b"x" * 505 + b"\r\n"
MAIL_2048 = b"MAIL FROM:<a@b.test>" + b" " * 2020 + b"SIZE=9\r\n"
RCPT_2048 = b"RCPT TO:<c@d.test>" + b" " * 2028 + b"\r\n"
assert len(NOOP_512) == 512 and len(MAIL_2048) == 2048 and len(RCPT_2048) == 2048

LIMITS = [
    Case(
        "too-many-recipients",
        [
            ehlo_for(config(max_recipients=2)),
            MAIL,
            RCPT,
            step(
                b"RCPT TO:<e@d.test>\r\n",
                wire.recipient_ok("e@d.test"),
                RecipientAccepted("e@d.test"),
            ),
            refuse(b"RCPT TO:<f@d.test>\r\n", wire.TOO_MANY_RECIPIENTS, state=State.RCPT),
            DATA,
            *deliver(b"x\r\n.\r\n", b"x\r\n", recipients=("c@d.test", "e@d.test")),
        ],
        config=config(max_recipients=2),
    ),
    Case(
        "too-many-errors",
        [
            refuse(b"FOO\r\n", wire.UNRECOGNIZED),
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NEED_HELO),
            step(
                b"BAR\r\nNOOP\r\n",
                wire.UNRECOGNIZED + wire.TOO_MANY_ERRORS,
                refused(wire.UNRECOGNIZED),
                closing(wire.TOO_MANY_ERRORS),
                state=State.CLOSED,
            ),
            step(b"NOOP\r\n"),
        ],
        config=config(max_errors=3),
    ),
    Case(
        "too-many-errors-on-a-refused-parameter",
        [
            EHLO,
            refuse(b"FOO\r\n", wire.UNRECOGNIZED),
            step(
                b"MAIL FROM:<a@b.test> SIZE=99999999999\r\n",
                wire.size_exceeded(wire.DEFAULT_SIZE) + wire.TOO_MANY_ERRORS,
                refused(wire.size_exceeded(wire.DEFAULT_SIZE)),
                closing(wire.TOO_MANY_ERRORS),
                state=State.CLOSED,
            ),
        ],
        config=config(max_errors=2),
    ),
    Case(
        "command-line-of-512-octets",
        [
            step(NOOP_512, wire.OK),
            refuse(b"NOOP " + b"x" * 506 + b"\r\n", wire.LINE_TOO_LONG),
            NOOP,
            refuse(b"HELO " + b"x" * 506 + b"\r\n", wire.LINE_TOO_LONG, state=State.CONNECTED),
        ],
    ),
    Case(
        "mail-and-rcpt-lines-up-to-2048-octets",
        [
            EHLO,
            step(MAIL_2048, wire.sender_ok("a@b.test"), TransactionStarted("a@b.test")),
            step(RCPT_2048, wire.recipient_ok("c@d.test"), RecipientAccepted("c@d.test")),
            step(b"RSET\r\n", wire.RESET),
            refuse(MAIL_2048[:-2] + b" \r\n", wire.LINE_TOO_LONG, state=State.READY),
            MAIL,
            refuse(RCPT_2048[:-2] + b" \r\n", wire.LINE_TOO_LONG, state=State.MAIL),
        ],
    ),
    Case(
        "line-far-too-long-then-the-session-goes-on",
        [
            refuse(b"NOOP " + b"x" * 6000 + b"\r\n", wire.LINE_TOO_LONG),
            EHLO,
            refuse(b"MAIL FROM:<a@b.test> " + b"x" * 6000 + b"\r\n", wire.LINE_TOO_LONG),
            refuse(b"y" * 3000 + b"\n", wire.LINE_TOO_LONG),
            step(
                b"z" * 2500 + b"\r\nNOOP\r\n",
                wire.LINE_TOO_LONG + wire.OK,
                refused(wire.LINE_TOO_LONG),
            ),
            MAIL,
        ],
    ),
]

# --- STARTTLS ---------------------------------------------------------------------------

STARTTLS = step(b"STARTTLS\r\n", wire.READY_FOR_TLS, StartTlsRequested(), state=State.TLS_PENDING)
TLS = step(Tls(), b"", state=State.CONNECTED)

TLS_CASES = [
    Case(
        "starttls",
        [
            EHLO_TLS,
            STARTTLS,
            TLS,
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NEED_HELO),
            EHLO,
            refuse(b"STARTTLS\r\n", wire.TLS_ALREADY_ACTIVE, state=State.READY),
            MAIL,
            RCPT,
            DATA,
            *deliver(b"secret\r\n.\r\n", b"secret\r\n", protocol="ESMTPS"),
            QUIT,
        ],
        config=TLS_CONFIG,
    ),
    Case(
        "starttls-lower-case-then-utf8",
        [
            EHLO_TLS,
            step(b"starttls\r\n", wire.READY_FOR_TLS, StartTlsRequested()),
            TLS,
            EHLO,
            step(
                b"MAIL FROM:<a@b.test> SMTPUTF8\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
            RCPT,
            DATA,
            *deliver(b"x\r\n.\r\n", b"x\r\n", protocol="UTF8SMTPS", smtputf8=True),
        ],
        config=TLS_CONFIG,
    ),
    Case(
        "starttls-pipelined-commands-are-discarded",
        [
            EHLO_TLS,
            step(
                b"STARTTLS\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\n",
                wire.READY_FOR_TLS,
                StartTlsRequested(),
                state=State.TLS_PENDING,
            ),
            step(b"DATA\r\nNOOP\r\n", b"", state=State.TLS_PENDING),
            TLS,
            EHLO,
            refuse(b"RCPT TO:<victim@y.test>\r\n", wire.NEED_MAIL),
            refuse(b"DATA\r\n", wire.NEED_MAIL),
        ],
        config=TLS_CONFIG,
        notes="CVE-2021-38371 family: nothing sent in clear after STARTTLS is executed",
    ),
    Case(
        "starttls-with-an-argument",
        [EHLO_TLS, refuse(b"STARTTLS now\r\n", wire.syntax("STARTTLS"), state=State.READY)],
        config=TLS_CONFIG,
    ),
    Case(
        "starttls-without-tls-configured",
        [
            EHLO,
            refuse(b"STARTTLS\r\n", wire.not_implemented("STARTTLS"), state=State.READY),
            NOOP,
            refuse(b"STARTTLS\r\n", wire.not_implemented("STARTTLS")),
        ],
    ),
    Case(
        "starttls-before-ehlo",
        [refuse(b"STARTTLS\r\n", wire.NEED_HELO, state=State.CONNECTED)],
        config=TLS_CONFIG,
    ),
    Case(
        "starttls-in-a-transaction",
        [EHLO_TLS, MAIL, refuse(b"STARTTLS\r\n", wire.TRANSACTION_IN_PROGRESS, state=State.MAIL)],
        config=TLS_CONFIG,
    ),
    Case(
        "starttls-when-already-active",
        [EHLO, refuse(b"STARTTLS\r\n", wire.TLS_ALREADY_ACTIVE)],
        config=TLS_CONFIG,
        tls_active=True,
    ),
]

# --- message data -------------------------------------------------------------------------

SMUGGLED = b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\nDATA\r\nforged\r\n"


def smuggling(name: str, separator: bytes, message: bytes) -> Case:
    """A "second message" behind a fake end of data; it must stay text of the first."""
    data = b"hello" + separator + SMUGGLED + b".\r\n"
    return Case(
        f"smuggling-{name}",
        [*ENVELOPE, *deliver(data, message), NOOP, QUIT],
        notes="CVE-2023-51764 family: only <CRLF>.<CRLF> ends the data",
    )


DATA_CASES = [
    Case(
        "data-dot-unstuffing",
        [
            *ENVELOPE,
            *deliver(
                b"..leading dot\r\n...two\r\nmid.dle.\r\n.\r\n",
                b".leading dot\r\n..two\r\nmid.dle.\r\n",
            ),
        ],
    ),
    Case(
        "data-dot-space-is-not-the-end",
        [*ENVELOPE, *deliver(b"a\r\n. \r\n.x\r\n.\r\n", b"a\r\n \r\nx\r\n")],
    ),
    Case("data-empty-message", [*ENVELOPE, *deliver(b".\r\n", b"")]),
    Case("data-empty-lines", [*ENVELOPE, *deliver(b"\r\n\r\n.\r\n", b"\r\n\r\n")]),
    Case(
        "data-headers-and-body",
        [
            *ENVELOPE,
            *deliver(
                b"Subject: hi\r\nFrom: <a@b.test>\r\n\r\nhello\r\n.\r\n",
                b"Subject: hi\r\nFrom: <a@b.test>\r\n\r\nhello\r\n",
            ),
        ],
    ),
    Case(
        "data-in-pieces",
        [
            *ENVELOPE,
            # A final CRLF may begin the end mark: it is handed on with what follows.
            step(b"first line\r\n", b"", DataChunk(b"first line"), state=State.DATA),
            step(b"second", b"", DataChunk(b"\r\nsecond"), state=State.DATA),
            *deliver(b" line\r\n.\r\n", b" line\r\n", size=25),
        ],
    ),
    Case(
        "data-8bit-nul-and-binary-kept",
        [
            *ENVELOPE,
            *deliver(
                b"caf\xc3\xa9 \x00 \xff\xfe\x1b[0m\r\n.\r\n",
                b"caf\xc3\xa9 \x00 \xff\xfe\x1b[0m\r\n",
            ),
        ],
    ),
    Case(
        "data-bare-cr-and-lf-kept-as-text",
        [*ENVELOPE, *deliver(b"a\rb\nc\r\n.\r\n", b"a\rb\nc\r\n")],
    ),
    Case(
        "data-line-of-998-characters",
        [*ENVELOPE, *deliver(b"x" * 998 + b"\r\n.\r\n", b"x" * 998 + b"\r\n")],
    ),
    Case(
        "data-line-of-999-characters",
        [
            *ENVELOPE,
            step(
                b"ok\r\n" + b"x" * 999 + b"\r\nok\r\n.\r\n",
                wire.DATA_LINE_TOO_LONG,
                DataChunk(b"ok\r\n" + b"x" * 999 + b"\r\nok\r\n"),
                message_refused(1009, wire.DATA_LINE_TOO_LONG),
                refused(wire.DATA_LINE_TOO_LONG),
                state=State.READY,
            ),
            MAIL,
            RCPT,
            DATA,
            *deliver(b"fine\r\n.\r\n", b"fine\r\n"),
        ],
    ),
    Case(
        "data-very-long-line-refused",
        [
            *ENVELOPE,
            step(
                b"y" * 5000 + b"\r\n.\r\n",
                wire.DATA_LINE_TOO_LONG,
                DataChunk(b"y" * 5000 + b"\r\n"),
                message_refused(5002, wire.DATA_LINE_TOO_LONG),
                refused(wire.DATA_LINE_TOO_LONG),
                state=State.READY,
            ),
            NOOP,
        ],
    ),
    Case(
        "data-stuffed-line-of-998-characters",
        [*ENVELOPE, *deliver(b".." + b"x" * 997 + b"\r\n.\r\n", b"." + b"x" * 997 + b"\r\n")],
    ),
    Case(
        "data-size-limit",
        [
            ehlo_for(config(max_message_size=100)),
            MAIL,
            RCPT,
            DATA,
            *deliver(b"x" * 98 + b"\r\n.\r\n", b"x" * 98 + b"\r\n"),
            MAIL,
            RCPT,
            DATA,
            step(
                b"x" * 99 + b"\r\n.\r\n",
                wire.size_exceeded(100),
                DataChunk(b"x" * 99 + b"\r"),
                message_refused(101, wire.size_exceeded(100)),
                refused(wire.size_exceeded(100)),
                state=State.READY,
            ),
            MAIL,
        ],
        config=config(max_message_size=100),
        notes="the session is handed the data up to the limit, then nothing more",
    ),
    Case(
        "data-size-counts-unstuffed-octets",
        [
            ehlo_for(config(max_message_size=100)),
            MAIL,
            RCPT,
            DATA,
            *deliver(b".." + b"x" * 97 + b"\r\n.\r\n", b"." + b"x" * 97 + b"\r\n"),
        ],
        config=config(max_message_size=100),
    ),
    Case(
        "data-far-over-the-size-limit",
        [
            ehlo_for(config(max_message_size=100)),
            MAIL,
            RCPT,
            DATA,
            step(
                (b"z" * 50 + b"\r\n") * 40 + b".\r\n",
                wire.size_exceeded(100),
                DataChunk(((b"z" * 50 + b"\r\n") * 2)[:100]),
                message_refused(52 * 40, wire.size_exceeded(100)),
                refused(wire.size_exceeded(100)),
                state=State.READY,
            ),
            NOOP,
        ],
        config=config(max_message_size=100),
    ),
    Case(
        "pipelined-transaction",
        [
            step(
                b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n"
                b"RCPT TO:<e@d.test>\r\nDATA\r\nhello\r\n.\r\nMAIL FROM:<x@y.test>\r\nQUIT\r\n",
                wire.ehlo()
                + wire.sender_ok("a@b.test")
                + wire.recipient_ok("c@d.test")
                + wire.recipient_ok("e@d.test")
                + wire.START_DATA,
                Greeted("client.test", True),
                TransactionStarted("a@b.test"),
                RecipientAccepted("c@d.test"),
                RecipientAccepted("e@d.test"),
                DataStarted(),
                DataChunk(b"hello\r\n"),
                complete(7, recipients=("c@d.test", "e@d.test")),
                state=State.DELIVERING,
            ),
            step(
                Answer(),
                wire.STORED + wire.sender_ok("x@y.test") + wire.BYE,
                TransactionStarted("x@y.test"),
                closing(wire.BYE),
                state=State.CLOSED,
            ),
        ],
        notes="RFC 2920: one write in, all replies in order; the data's answer comes first",
    ),
    Case(
        "pipelined-refusals-keep-their-order",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test>\r\nRCPT TO:<bad>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
                b"x\r\n.\r\n",
                wire.sender_ok("a@b.test")
                + wire.bad_recipient("not a valid address")
                + wire.recipient_ok("c@d.test")
                + wire.START_DATA,
                TransactionStarted("a@b.test"),
                refused(wire.bad_recipient("not a valid address")),
                RecipientAccepted("c@d.test"),
                DataStarted(),
                DataChunk(b"x\r\n"),
                complete(3),
            ),
            ANSWER,
        ],
    ),
    Case(
        "pipelined-data-without-recipient-is-not-message",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test>\r\nRCPT TO:<bad>\r\nDATA\r\nMAIL FROM:<e@f.test>\r\n.\r\n",
                wire.sender_ok("a@b.test")
                + wire.bad_recipient("not a valid address")
                + wire.NEED_RCPT
                + wire.NESTED_MAIL
                + wire.UNRECOGNIZED,
                TransactionStarted("a@b.test"),
                refused(wire.bad_recipient("not a valid address")),
                refused(wire.NEED_RCPT),
                refused(wire.NESTED_MAIL),
                refused(wire.UNRECOGNIZED),
                state=State.MAIL,
            ),
        ],
        notes="RFC 2920 §3.1: with no recipient, DATA is refused and the text is commands",
    ),
    smuggling("lf-dot-lf", b"\n.\n", b"hello\n.\n" + SMUGGLED),
    # A line starting with "." loses it (§4.5.2); the bare LF does not end that line.
    smuggling("crlf-dot-lf", b"\r\n.\n", b"hello\r\n\n" + SMUGGLED),
    smuggling("lf-dot-crlf", b"\n.\r\n", b"hello\n.\r\n" + SMUGGLED),
    smuggling("cr-dot-cr", b"\r.\r", b"hello\r.\r" + SMUGGLED),
    smuggling("cr-dot-crlf", b"\r.\r\n", b"hello\r.\r\n" + SMUGGLED),
    smuggling("crlf-dot-cr", b"\r\n.\r", b"hello\r\n\r" + SMUGGLED),
    Case(
        "real-end-then-commands",
        [
            *ENVELOPE,
            step(
                b"hello\r\n.\r\n" + SMUGGLED,
                b"",
                DataChunk(b"hello\r\n"),
                complete(7),
                state=State.DELIVERING,
            ),
            step(
                Answer(),
                wire.STORED
                + wire.sender_ok("evil@x.test")
                + wire.recipient_ok("victim@y.test")
                + wire.START_DATA,
                TransactionStarted("evil@x.test"),
                RecipientAccepted("victim@y.test"),
                DataStarted(),
                DataChunk(b"forged"),
                state=State.DATA,
            ),
        ],
        notes="the contrast: after a real <CRLF>.<CRLF> the same text is commands",
    ),
]

# --- what people type into nc and telnet -----------------------------------------------------

BARE_LF = [
    Case(
        "bare-lf-session",
        [
            step(b"EHLO client.test\n", wire.ehlo(), Greeted("client.test", True)),
            step(
                b"MAIL FROM:<a@b.test>\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
            step(
                b"RCPT TO:<c@d.test>\n",
                wire.recipient_ok("c@d.test"),
                RecipientAccepted("c@d.test"),
            ),
            step(b"DATA\n", wire.START_DATA_BARE_LF, DataStarted(), state=State.DATA),
            step(b"hello\n.\n", b"", DataChunk(b"hello\n.\n"), state=State.DATA),
            *deliver(b"\r\n.\r\n", b"\r\n", size=10),
            step(b"QUIT\n", wire.BYE, closing(wire.BYE)),
        ],
    ),
    Case(
        "bare-lf-only-on-data-command",
        [EHLO, MAIL, RCPT, step(b"DATA\n", wire.START_DATA_BARE_LF, DataStarted())],
    ),
    Case(
        "crlf-data-after-bare-lf-commands",
        [
            step(b"EHLO client.test\n", wire.ehlo(), Greeted("client.test", True)),
            MAIL,
            RCPT,
            DATA,
        ],
    ),
    Case(
        "bare-lf-and-crlf-mixed",
        [step(b"NOOP\nNOOP\r\nNOOP\n", wire.OK * 3), step(b"HELP\n", wire.HELP)],
    ),
]

# --- bytes that are not SMTP -------------------------------------------------------------

TLS_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n"

GARBAGE = [
    Case(
        "nul-in-a-command",
        [
            refuse(b"NOOP\x00\r\n", wire.BAD_CHARACTERS),
            EHLO,
            refuse(b"MAIL FROM:<a\x00@b.test>\r\n", wire.BAD_CHARACTERS, state=State.READY),
            refuse(b"\x00\r\n", wire.BAD_CHARACTERS),
        ],
    ),
    Case(
        "invalid-utf8",
        [
            refuse(b"EHLO \xff\xfe\r\n", wire.BAD_CHARACTERS),
            refuse(b"\xff\xfeHELO x\r\n", wire.UNRECOGNIZED),
            EHLO,
            refuse(b"MAIL FROM:<\xc3\x28@b.test>\r\n", wire.BAD_CHARACTERS),
            refuse(b"MAIL FROM:<a@b.test> SIZE=\xe9\r\n", wire.BAD_CHARACTERS),
            MAIL,
        ],
    ),
    Case(
        "control-characters",
        [
            refuse(b"HELO a\x01b\r\n", wire.BAD_CHARACTERS),
            refuse(b"VRFY \x1b[31m\r\n", wire.BAD_CHARACTERS),
            EHLO,
            refuse(b"MAIL FROM:<a\x01@b.test>\r\n", wire.bad_sender("not a valid address")),
            refuse(
                b"MAIL FROM:<a@b.test> \x7f\r\n", wire.bad_parameter("bad parameter syntax '\\x7f'")
            ),
        ],
    ),
    Case(
        "tls-client-hello-in-clear",
        [
            # The hello's random bytes hold an LF (0x0a), so it makes two "lines".
            step(
                TLS_HELLO,
                wire.BAD_CHARACTERS + wire.UNRECOGNIZED,
                refused(wire.BAD_CHARACTERS),
                refused(wire.UNRECOGNIZED),
            ),
            NOOP,
        ],
    ),
    Case(
        "http-request",
        [
            step(
                b"GET / HTTP/1.1\r\nHost: mx.test\r\n\r\n",
                wire.UNRECOGNIZED * 3,
                *[refused(wire.UNRECOGNIZED)] * 3,
            ),
        ],
    ),
    Case(
        "garbage-until-too-many-errors",
        [
            step(
                b"\xde\xad\xbe\xef\r\n\x00\x01\x02\n\x80\x81\r\nNOOP\r\n",
                wire.UNRECOGNIZED + wire.BAD_CHARACTERS + wire.UNRECOGNIZED + wire.TOO_MANY_ERRORS,
                refused(wire.UNRECOGNIZED),
                refused(wire.BAD_CHARACTERS),
                refused(wire.UNRECOGNIZED),
                closing(wire.TOO_MANY_ERRORS),
                state=State.CLOSED,
            ),
        ],
        config=config(max_errors=3),
    ),
]

# --- the end of a conversation --------------------------------------------------------------

ENDINGS = [
    Case(
        "timeout",
        [
            EHLO,
            step(TimedOut(), wire.TIMEOUT, closing(wire.TIMEOUT), state=State.CLOSED),
            step(b"NOOP\r\n"),
        ],
    ),
    Case(
        "timeout-in-data-stores-nothing",
        [
            *ENVELOPE,
            step(b"partial\r\n", b"", DataChunk(b"partial"), state=State.DATA),
            step(TimedOut(), wire.TIMEOUT, closing(wire.TIMEOUT), state=State.CLOSED),
            step(b"rest\r\n.\r\n"),
        ],
    ),
    Case(
        "timeout-before-ehlo",
        [step(TimedOut(), wire.TIMEOUT, closing(wire.TIMEOUT)), step(TimedOut())],
    ),
    Case(
        "shutdown",
        [
            EHLO,
            MAIL,
            step(Shutdown(), wire.SHUTTING_DOWN, closing(wire.SHUTTING_DOWN), state=State.CLOSED),
        ],
    ),
    Case(
        "shutdown-lets-the-message-finish",
        [
            *ENVELOPE,
            step(Shutdown(), b"", state=State.DATA),
            body(b"last\r\n.\r\n", b"last\r\n"),
            step(
                Answer(),
                wire.STORED + wire.SHUTTING_DOWN,
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
        ],
    ),
    Case(
        "shutdown-refused-message-then-closes",
        [
            *ENVELOPE,
            step(Shutdown(), b"", state=State.DATA),
            step(
                b"x" * 1200 + b"\r\n.\r\n",
                wire.DATA_LINE_TOO_LONG + wire.SHUTTING_DOWN,
                DataChunk(b"x" * 1200 + b"\r\n"),
                message_refused(1202, wire.DATA_LINE_TOO_LONG),
                refused(wire.DATA_LINE_TOO_LONG),
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
        ],
    ),
    Case(
        "shutdown-forced-in-data",
        [
            *ENVELOPE,
            step(
                Shutdown(force=True),
                wire.SHUTTING_DOWN,
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
            step(b".\r\n"),
        ],
    ),
    Case(
        "shutdown-while-storing-waits-for-the-answer",
        [
            *ENVELOPE,
            body(b"x\r\n.\r\nNOOP\r\n", b"x\r\n"),
            step(Shutdown(force=True), b"", state=State.DELIVERING),
            step(
                Answer(),
                wire.STORED + wire.SHUTTING_DOWN,
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
        ],
    ),
    Case(
        "peer-closes",
        [EHLO, step(PeerClosed(), b"", state=State.READY)],
    ),
]

ALL = [*COMMANDS, *SEQUENCE, *LIMITS, *TLS_CASES, *DATA_CASES, *BARE_LF, *GARBAGE, *ENDINGS]
assert len({case.id for case in ALL}) == len(ALL), "case ids must be unique"
assert CONFIG.hostname == wire.HOSTNAME
