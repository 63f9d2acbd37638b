"""Conversations in which the session decides about senders and recipients (a recipient
policy, chaos): each MAIL and RCPT waits for its verdict, pipelined or not.

Replayed by `test_server_io.py` whole, one byte at a time and in random chunks, like
the other tables.
"""

from __future__ import annotations

from postier.protocol.smtp import ACCEPT
from postier.protocol.smtp.events import (
    DataStarted,
    RecipientAccepted,
    RecipientOffered,
    SenderOffered,
    TransactionStarted,
)
from postier.protocol.smtp.state import State
from tests.protocol import wire
from tests.protocol.conversations import DATA, EHLO, config, deliver
from tests.protocol.helpers import (
    Case,
    OnRecipient,
    OnSender,
    Shutdown,
    closing,
    complete,
    refused,
    reply_of,
    step,
)

NO_MAILBOX = b"550 5.1.1 Error: no mailbox here for <c@d.test>\r\n"
GREYLISTED = b"451 4.7.1 Error: greylisted, try again in 30 seconds\r\n"
CHAOS_SENDER = b"451 4.0.0 Error: chaos sender error (--chaos)\r\n"

OFFER_MAIL = step(
    b"MAIL FROM:<a@b.test>\r\n", b"", SenderOffered("a@b.test"), state=State.SENDER_CHECKING
)
TAKE_SENDER = step(
    OnSender(ACCEPT), wire.sender_ok("a@b.test"), TransactionStarted("a@b.test"), state=State.MAIL
)


def offer(recipient: str = "c@d.test") -> bytes:
    return f"RCPT TO:<{recipient}>\r\n".encode()


def offered(recipient: str = "c@d.test") -> RecipientOffered:
    return RecipientOffered("a@b.test", recipient)


def take(recipient: str = "c@d.test") -> tuple[bytes, RecipientAccepted]:
    return wire.recipient_ok(recipient), RecipientAccepted(recipient)


OFFER_RCPT = step(offer(), b"", offered(), state=State.RECIPIENT_CHECKING)
TAKE_RCPT = step(OnRecipient(ACCEPT), *take(), state=State.RCPT)
OPENING = [EHLO, OFFER_MAIL, TAKE_SENDER]

POLICY_CASES = [
    Case(
        "policy-every-verdict-accepts",
        [*OPENING, OFFER_RCPT, TAKE_RCPT, DATA, *deliver(b"Hi\r\n.\r\n", b"Hi\r\n")],
        deciding=True,
    ),
    Case(
        "policy-first-recipient-refused-stays-in-mail",
        [
            *OPENING,
            OFFER_RCPT,
            step(
                OnRecipient(reply_of(NO_MAILBOX)), NO_MAILBOX, refused(NO_MAILBOX), state=State.MAIL
            ),
            step(b"DATA\r\n", wire.NEED_RCPT, refused(wire.NEED_RCPT), state=State.MAIL),
        ],
        deciding=True,
    ),
    Case(
        "policy-later-recipient-refused-for-now-stays-in-rcpt",
        [
            *OPENING,
            OFFER_RCPT,
            TAKE_RCPT,
            step(offer("e@f.test"), b"", offered("e@f.test"), state=State.RECIPIENT_CHECKING),
            step(
                OnRecipient(reply_of(GREYLISTED)), GREYLISTED, refused(GREYLISTED), state=State.RCPT
            ),
            DATA,
            *deliver(b".\r\n", b""),
        ],
        deciding=True,
    ),
    Case(
        "policy-sender-refused-back-to-ready",
        [
            EHLO,
            OFFER_MAIL,
            step(
                OnSender(reply_of(CHAOS_SENDER)),
                CHAOS_SENDER,
                refused(CHAOS_SENDER),
                state=State.READY,
            ),
            step(offer(), wire.NEED_MAIL, refused(wire.NEED_MAIL), state=State.READY),
            OFFER_MAIL,
            TAKE_SENDER,
        ],
        deciding=True,
    ),
    Case(
        # RFC 2920 §3.1: the replies of a pipelined group come in the order of its
        # commands; each RCPT waits for its verdict, the DATA behind them for theirs.
        "policy-pipelined-burst-each-waits-for-its-verdict",
        [
            EHLO,
            step(
                b"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nRCPT TO:<x@d.test>\r\n"
                b"RCPT TO:<e@f.test>\r\nDATA\r\n",
                b"",
                SenderOffered("a@b.test"),
                state=State.SENDER_CHECKING,
            ),
            step(
                OnSender(ACCEPT),
                wire.sender_ok("a@b.test"),
                TransactionStarted("a@b.test"),
                offered(),
                state=State.RECIPIENT_CHECKING,
            ),
            step(OnRecipient(ACCEPT), take()[0], take()[1], offered("x@d.test")),
            step(
                OnRecipient(reply_of(NO_MAILBOX.replace(b"c@d", b"x@d"))),
                NO_MAILBOX.replace(b"c@d", b"x@d"),
                refused(NO_MAILBOX.replace(b"c@d", b"x@d")),
                offered("e@f.test"),
                state=State.RECIPIENT_CHECKING,
            ),
            step(
                OnRecipient(ACCEPT),
                wire.recipient_ok("e@f.test") + wire.START_DATA,
                RecipientAccepted("e@f.test"),
                DataStarted(),
                state=State.DATA,
            ),
            step(
                b".\r\n",
                b"",
                complete(0, recipients=("c@d.test", "e@f.test")),
                state=State.DELIVERING,
            ),
        ],
        deciding=True,
    ),
    Case(
        # The core's own checks come first: the session is asked only about what passed.
        "policy-core-refuses-before-offering",
        [
            *OPENING,
            OFFER_RCPT,
            TAKE_RCPT,
            step(offer("é@d.test"), wire.NEEDS_SMTPUTF8, refused(wire.NEEDS_SMTPUTF8)),
            step(offer("e@f.test"), wire.TOO_MANY_RECIPIENTS, refused(wire.TOO_MANY_RECIPIENTS)),
        ],
        config=config(max_recipients=1),
        deciding=True,
    ),
    Case(
        # A refusal of the policy is no mistake of the client's: it never counts toward
        # the errors that close the connection.
        "policy-refusals-are-not-protocol-errors",
        [
            *OPENING,
            *[
                item
                for _ in range(3)
                for item in (
                    OFFER_RCPT,
                    step(OnRecipient(reply_of(NO_MAILBOX)), NO_MAILBOX, refused(NO_MAILBOX)),
                )
            ],
            OFFER_RCPT,
            TAKE_RCPT,
        ],
        config=config(max_errors=2),
        deciding=True,
    ),
    Case(
        # A shutdown waits for the verdict, then for the transaction it lets go on.
        "policy-shutdown-waits-for-the-verdict",
        [
            *OPENING,
            OFFER_RCPT,
            step(Shutdown(), b"", state=State.RECIPIENT_CHECKING),
            TAKE_RCPT,
            step(b"RSET\r\n", wire.RESET + wire.SHUTTING_DOWN, closing(wire.SHUTTING_DOWN)),
        ],
        deciding=True,
    ),
    Case(
        "policy-shutdown-closes-after-a-sender-refused",
        [
            EHLO,
            OFFER_MAIL,
            step(Shutdown(), b"", state=State.SENDER_CHECKING),
            step(
                OnSender(reply_of(CHAOS_SENDER)),
                CHAOS_SENDER + wire.SHUTTING_DOWN,
                refused(CHAOS_SENDER),
                closing(wire.SHUTTING_DOWN),
                state=State.CLOSED,
            ),
        ],
        deciding=True,
    ),
]
