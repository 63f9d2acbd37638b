"""Conversations of the extensions: AUTH (RFC 4954) and CHUNKING/BINARYMIME (RFC 3030).

Replayed by `test_server_io.py` like the base tables: whole, byte by byte, in chunks.
Base64 used below: "\\0alice\\0secret" = AGFsaWNlAHNlY3JldA==, "alice" = YWxpY2U=,
"secret" = c2VjcmV0, "Username:" = VXNlcm5hbWU6, "Password:" = UGFzc3dvcmQ6.
"""

from __future__ import annotations

from postier.protocol.smtp.events import (
    CredentialsReceived,
    DataChunk,
    DataStarted,
    StartTlsRequested,
    TransactionStarted,
)
from postier.protocol.smtp.events import (
    HeloAccepted as Greeted,
)
from postier.protocol.smtp.sasl_server import Credentials
from postier.protocol.smtp.state import State
from tests.protocol import wire
from tests.protocol.conversations import (
    ANSWER,
    DATA,
    EHLO,
    MAIL,
    NOOP,
    QUIT,
    RCPT,
    config,
    deliver,
    ehlo_for,
    refuse,
)
from tests.protocol.helpers import (
    Answer,
    Case,
    Shutdown,
    Step,
    TimedOut,
    Tls,
    Verdict,
    closing,
    complete,
    message_refused,
    refused,
    step,
)

MECHANISMS = ("PLAIN", "LOGIN")
AUTH_CLEAR = config(auth_mechanisms=MECHANISMS, auth_insecure=True)
AUTH_TLS = config(auth_mechanisms=MECHANISMS, tls_available=True)

SMALL = config(max_message_size=10)
EHLO_AUTH = step(
    b"EHLO client.test\r\n",
    wire.ehlo(auth="PLAIN LOGIN"),
    Greeted("client.test", True),
    state=State.READY,
)
ALICE = Credentials("PLAIN", "alice", password="secret")
PLAIN_ALICE = step(
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"",
    CredentialsReceived(ALICE),
    state=State.AUTH_CHECKING,
)
ACCEPT = step(Verdict(True), wire.AUTH_OK, state=State.READY)
REJECT = step(Verdict(False), wire.AUTH_FAILED, refused(wire.AUTH_FAILED), state=State.READY)
EMPTY_CHALLENGE = b"334 \r\n"


def chunk(command: bytes, data: bytes, reply: bytes, *, first: bool = False) -> Step:
    """A BDAT chunk that is not the last: its data handed on, `250 n octets` back."""
    events = (DataStarted(),) if first else ()
    if data:
        events += (DataChunk(data),)
    return step(command + data, reply, *events, state=State.CHUNKING)


AUTH_CASES = [
    Case(
        "auth-plain-initial-response",
        [
            EHLO_AUTH,
            PLAIN_ALICE,
            ACCEPT,
            MAIL,
            RCPT,
            DATA,
            *deliver(b"hi\r\n.\r\n", b"hi\r\n", protocol="ESMTPA", auth_user="alice"),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-plain-after-an-empty-challenge",
        [
            EHLO_AUTH,
            step(b"AUTH PLAIN\r\n", EMPTY_CHALLENGE, state=State.AUTH),
            step(
                b"AGFsaWNlAHNlY3JldA==\r\n",
                b"",
                CredentialsReceived(ALICE),
                state=State.AUTH_CHECKING,
            ),
            REJECT,
            step(b"AUTH PLAIN =\r\n", wire.malformed("PLAIN"), refused(wire.malformed("PLAIN"))),
            PLAIN_ALICE,
            ACCEPT,
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-plain-authzid-same-user",
        [
            EHLO_AUTH,
            step(
                b"AUTH PLAIN YWxpY2UAYWxpY2UAc2VjcmV0\r\n",
                b"",
                CredentialsReceived(ALICE),
                state=State.AUTH_CHECKING,
            ),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-plain-acting-for-another-user",
        [
            EHLO_AUTH,
            refuse(b"AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n", wire.AUTH_FAILED, state=State.READY),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-login",
        [
            EHLO_AUTH,
            step(b"AUTH LOGIN\r\n", wire.challenge("VXNlcm5hbWU6"), state=State.AUTH),
            step(b"YWxpY2U=\r\n", wire.challenge("UGFzc3dvcmQ6"), state=State.AUTH),
            step(
                b"c2VjcmV0\r\n",
                b"",
                CredentialsReceived(Credentials("LOGIN", "alice", password="secret")),
                state=State.AUTH_CHECKING,
            ),
            ACCEPT,
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-login-with-the-username-first",
        [
            EHLO_AUTH,
            step(b"auth login YWxpY2U=\r\n", wire.challenge("UGFzc3dvcmQ6"), state=State.AUTH),
            step(
                b"=\r\n",
                b"",
                CredentialsReceived(Credentials("LOGIN", "alice", password="")),
                state=State.AUTH_CHECKING,
            ),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-cancelled",
        [
            EHLO_AUTH,
            step(b"AUTH LOGIN\r\n", wire.challenge("VXNlcm5hbWU6"), state=State.AUTH),
            step(b"*\r\n", wire.AUTH_CANCELLED, refused(wire.AUTH_CANCELLED), state=State.READY),
            NOOP,
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-response-not-base64",
        [
            EHLO_AUTH,
            step(b"AUTH PLAIN\r\n", EMPTY_CHALLENGE, state=State.AUTH),
            step(b"!!!\r\n", wire.CANNOT_DECODE, refused(wire.CANNOT_DECODE), state=State.READY),
            refuse(b"AUTH PLAIN YWxpY2U=\r\n", wire.malformed("PLAIN")),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-response-too-long",
        [
            EHLO_AUTH,
            step(b"AUTH PLAIN\r\n", EMPTY_CHALLENGE, state=State.AUTH),
            step(
                b"A" * 3000 + b"\r\n",
                wire.LINE_TOO_LONG,
                refused(wire.LINE_TOO_LONG),
                state=State.READY,
            ),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-twice",
        [EHLO_AUTH, PLAIN_ALICE, ACCEPT, refuse(b"AUTH LOGIN\r\n", wire.ALREADY_AUTHENTICATED)],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-out-of-sequence",
        [
            refuse(b"AUTH PLAIN\r\n", wire.NEED_HELO),
            step(b"HELO client.test\r\n", wire.helo(), Greeted("client.test", False)),
            refuse(b"AUTH PLAIN\r\n", wire.AUTH_NEEDS_EHLO),
            EHLO_AUTH,
            MAIL,
            refuse(b"AUTH PLAIN\r\n", wire.TRANSACTION_IN_PROGRESS),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-unknown-mechanism",
        [
            EHLO_AUTH,
            refuse(b"AUTH GSSAPI\r\n", wire.UNKNOWN_MECHANISM),
            refuse(b"AUTH CRAM-MD5\r\n", wire.UNKNOWN_MECHANISM),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "auth-only-over-tls",
        [
            step(b"EHLO client.test\r\n", wire.ehlo(starttls=True), Greeted("client.test", True)),
            refuse(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", wire.AUTH_NEEDS_TLS),
            step(b"STARTTLS\r\n", wire.READY_FOR_TLS, StartTlsRequested(), state=State.TLS_PENDING),
            step(Tls(), state=State.CONNECTED),
            step(
                b"EHLO client.test\r\n",
                wire.ehlo(auth="PLAIN LOGIN"),
                Greeted("client.test", True),
            ),
            PLAIN_ALICE,
            ACCEPT,
            MAIL,
            RCPT,
            DATA,
            *deliver(b"hi\r\n.\r\n", b"hi\r\n", protocol="ESMTPSA", auth_user="alice"),
        ],
        config=AUTH_TLS,
    ),
    Case(
        "auth-forgotten-after-starttls",
        [
            step(
                b"EHLO client.test\r\n",
                wire.ehlo(starttls=True, auth="PLAIN LOGIN"),
                Greeted("client.test", True),
            ),
            PLAIN_ALICE,
            ACCEPT,
            step(b"STARTTLS\r\n", wire.READY_FOR_TLS, StartTlsRequested(), state=State.TLS_PENDING),
            step(Tls(), state=State.CONNECTED),
            step(
                b"EHLO client.test\r\n", wire.ehlo(auth="PLAIN LOGIN"), Greeted("client.test", True)
            ),
            PLAIN_ALICE,  # RFC 3207 §4.2: nothing from before TLS is kept, the login neither
        ],
        config=config(auth_mechanisms=MECHANISMS, auth_insecure=True, tls_available=True),
    ),
    Case(
        "auth-required",
        [
            EHLO_AUTH,
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.AUTH_REQUIRED),
            PLAIN_ALICE,
            ACCEPT,
            MAIL,
        ],
        config=config(auth_mechanisms=MECHANISMS, auth_insecure=True, auth_required=True),
    ),
    Case(
        "auth-required-says-starttls-first",
        [
            step(b"EHLO client.test\r\n", wire.ehlo(starttls=True), Greeted("client.test", True)),
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.STARTTLS_FIRST),
        ],
        config=config(auth_mechanisms=MECHANISMS, tls_available=True, auth_required=True),
    ),
    Case(
        "auth-failures-close-the-connection",
        [
            EHLO_AUTH,
            PLAIN_ALICE,
            REJECT,
            PLAIN_ALICE,
            step(
                Verdict(False),
                wire.TOO_MANY_AUTH_FAILURES,
                closing(wire.TOO_MANY_AUTH_FAILURES),
                state=State.CLOSED,
            ),
        ],
        config=config(auth_mechanisms=MECHANISMS, auth_insecure=True, max_auth_failures=2),
    ),
    Case(
        "auth-shutdown-while-checking",
        [
            EHLO_AUTH,
            PLAIN_ALICE,
            step(Shutdown(), state=State.AUTH_CHECKING),
            step(
                Verdict(True),
                wire.AUTH_OK + wire.SHUTTING_DOWN,
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
        ],
        config=AUTH_CLEAR,
    ),
    Case(
        "mail-auth-parameter",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test> AUTH=<>\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
        ],
    ),
]


CHUNKING_CASES = [
    Case(
        "bdat-one-chunk",
        [
            EHLO,
            MAIL,
            RCPT,
            step(
                b"BDAT 5 LAST\r\nhello",
                b"",
                DataStarted(),
                DataChunk(b"hello"),
                complete(5),
                state=State.DELIVERING,
            ),
            ANSWER,
            QUIT,
        ],
    ),
    Case(
        "bdat-chunks-taken-verbatim",
        [
            EHLO,
            MAIL,
            RCPT,
            chunk(b"BDAT 12\r\n", b"a\r\n.\r\nQUIT\r\n", wire.chunk_received(12), first=True),
            chunk(b"BDAT 0\r\n", b"", wire.chunk_received(0)),
            chunk(b"bdat 3\r\n", b"\x00\xff\n", wire.chunk_received(3)),
            step(b"BDAT 0 LAST\r\n", b"", complete(15), state=State.DELIVERING),
            ANSWER,
        ],
    ),
    Case(
        "bdat-pipelined",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 2\r\nabBDAT 1 LAST\r\nc"
                b"NOOP\r\n",
                wire.sender_ok("a@b.test") + wire.recipient_ok("c@d.test") + wire.chunk_received(2),
                TransactionStarted("a@b.test"),
                *RCPT.events,
                DataStarted(),
                DataChunk(b"abc"),
                complete(3),
                state=State.DELIVERING,
            ),
            step(Answer(), wire.STORED + wire.OK, state=State.READY),
        ],
    ),
    Case(
        "bdat-refused-data-is-never-a-command",
        [
            EHLO,
            step(b"BDAT 12 LAST\r\nQUIT\r\nNOOP", b"", state=State.BDAT),
            step(b"\r\n", wire.NEED_MAIL, refused(wire.NEED_MAIL), state=State.READY),
            MAIL,
            step(b"BDAT 6\r\nRSET\r\n", wire.NEED_RCPT, refused(wire.NEED_RCPT), state=State.MAIL),
            refuse(b"BDAT 4 FIRST\r\nQUIT", wire.syntax("BDAT size [LAST]"), state=State.MAIL),
            NOOP,
        ],
    ),
    Case(
        "bdat-size-unreadable-closes",
        [
            EHLO,
            step(
                b"BDAT LAST\r\nQUIT\r\n",
                wire.BDAT_SIZE_UNREADABLE,
                closing(wire.BDAT_SIZE_UNREADABLE),
                state=State.CLOSED,
            ),
        ],
    ),
    Case(
        "bdat-and-data-do-not-mix",
        [
            EHLO,
            MAIL,
            RCPT,
            chunk(b"BDAT 1\r\n", b"x", wire.chunk_received(1), first=True),
            refuse(b"DATA\r\n", wire.CHUNKING_IN_PROGRESS),
            refuse(b"RCPT TO:<e@f.test>\r\n", wire.CHUNKING_IN_PROGRESS),
            refuse(b"MAIL FROM:<a@b.test>\r\n", wire.NESTED_MAIL),
            NOOP,
            step(b"RSET\r\n", wire.RESET, state=State.READY),
            refuse(b"BDAT 0 LAST\r\n", wire.NEED_MAIL),
        ],
    ),
    Case(
        "binarymime-needs-bdat",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test> BODY=BINARYMIME\r\n",
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
            ),
            RCPT,
            refuse(b"DATA\r\n", wire.DATA_WITH_BINARYMIME),
            step(
                b"BDAT 3 LAST\r\n\x00\x01\x02",
                b"",
                DataStarted(),
                DataChunk(b"\x00\x01\x02"),
                complete(3, body="BINARYMIME"),
                state=State.DELIVERING,
            ),
            ANSWER,
        ],
    ),
    Case(
        "bdat-over-the-size-limit",
        [
            ehlo_for(SMALL),
            MAIL,
            RCPT,
            chunk(b"BDAT 8\r\n", b"12345678", wire.chunk_received(8), first=True),
            step(
                b"BDAT 8 LAST\r\n12345678",
                wire.size_exceeded(10),
                DataChunk(b"12"),
                message_refused(16, wire.size_exceeded(10)),
                refused(wire.size_exceeded(10)),
                state=State.READY,
            ),
            refuse(b"BDAT 2 LAST\r\nab", wire.NEED_MAIL),
        ],
        config=SMALL,
    ),
    Case(
        "bdat-over-the-limit-in-a-middle-chunk",
        [
            ehlo_for(SMALL),
            MAIL,
            RCPT,
            step(
                b"BDAT 11\r\n12345678901",
                wire.size_exceeded(10),
                DataStarted(),
                DataChunk(b"1234567890"),
                message_refused(11, wire.size_exceeded(10)),
                refused(wire.size_exceeded(10)),
                state=State.READY,
            ),
        ],
        config=SMALL,
    ),
    Case(
        "bdat-quit-between-chunks",
        [
            EHLO,
            MAIL,
            RCPT,
            chunk(b"BDAT 1\r\n", b"x", wire.chunk_received(1), first=True),
            QUIT,
        ],
    ),
    Case(
        "bdat-shutdown-lets-the-message-finish",
        [
            EHLO,
            MAIL,
            RCPT,
            step(b"BDAT 4 LAST\r\nab", b"", DataStarted(), DataChunk(b"ab"), state=State.BDAT),
            step(Shutdown(), state=State.BDAT),
            step(b"cd", b"", DataChunk(b"cd"), complete(4), state=State.DELIVERING),
            step(Answer(), wire.STORED + wire.SHUTTING_DOWN, closing(wire.SHUTTING_DOWN)),
        ],
    ),
    Case(
        "bdat-timeout-between-chunks",
        [
            EHLO,
            MAIL,
            RCPT,
            chunk(b"BDAT 1\r\n", b"x", wire.chunk_received(1), first=True),
            step(TimedOut(), wire.TIMEOUT, closing(wire.TIMEOUT), state=State.CLOSED),
        ],
    ),
]

CHUNKING_CASES += [
    Case(
        "bdat-refused-chunk-is-not-part-of-the-message",
        [
            EHLO,
            MAIL,
            RCPT,
            chunk(b"BDAT 1\r\n", b"a", wire.chunk_received(1), first=True),
            refuse(b"BDAT 2 X\r\nbc", wire.syntax("BDAT size [LAST]"), state=State.CHUNKING),
            step(b"BDAT 0 LAST\r\n", b"", complete(1), state=State.DELIVERING),
            ANSWER,
        ],
    ),
    Case(
        "bdat-shutdown-then-rset-closes",
        [
            EHLO,
            MAIL,
            RCPT,
            chunk(b"BDAT 1\r\n", b"x", wire.chunk_received(1), first=True),
            step(Shutdown(), state=State.CHUNKING),
            step(
                b"RSET\r\n",
                wire.RESET + wire.SHUTTING_DOWN,
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
        ],
    ),
]

EXTENSION_CASES = [*AUTH_CASES, *CHUNKING_CASES]
