"""The client's own refusals, written as a server would: what `postier send` will not
send to a server that said it would refuse it (SIZE, SMTPUTF8, 8BITMIME)."""

from __future__ import annotations

from postier.protocol.smtp.codes import Enhanced, ReplyCode
from postier.protocol.smtp.reply import Reply, reply


def message_over_size_limit(size: int, limit: int) -> Reply:
    # RFC 1870 §6.1: a client should not send what the server said it would refuse.
    return reply(
        ReplyCode.EXCEEDED_STORAGE,
        Enhanced.MESSAGE_TOO_BIG,
        f"message is {size} octets, the server takes at most {limit} (SIZE)",
    )


def smtputf8_not_offered() -> Reply:
    # RFC 6531 §3.2: without the extension a UTF-8 address or header cannot be sent.
    return reply(
        ReplyCode.MAILBOX_NAME_NOT_ALLOWED,
        Enhanced.NON_ASCII_ADDRESS,
        "non-ASCII addresses or headers need SMTPUTF8, which the server does not offer",
    )


def eight_bit_not_offered() -> Reply:
    # RFC 6152 §3: 8-bit data only goes to a server that offers 8BITMIME.
    return reply(
        ReplyCode.TRANSACTION_FAILED,
        Enhanced.MEDIA_OTHER,
        "message holds 8-bit data and the server does not offer 8BITMIME",
    )
