"""The client's states and what the driver may do in each. Everything that moves it lives here.

    CONNECTED --220--> GREETED --ehlo()--> HELLO --250--> READY
        |                 ^                  | 5xx to EHLO: HELO, same state
        +--554--> REJECTED                   +--refused--> GREETED
    READY --starttls()--> STARTTLS --220--> TLS_HANDSHAKE --tls_started()--> GREETED
    READY --authenticate()--> AUTH --235 or refused--> READY
    READY --send_envelope()--> ENVELOPE --354--> DATA --end_data()--> MESSAGE --> READY
                                  +--refused (RSET when MAIL was accepted)--> RESET --> READY
    GREETED/READY --rset(), noop()--> RESET, NOOP --> back;  --quit()--> QUIT --> CLOSED
    any state --421 or the server hangs up--> CLOSED

A driver call is allowed only when `CALLS` has its `(state, call)` key; anything else
is a `LocalProtocolError`, so a misuse cannot go unnoticed.
"""

from __future__ import annotations

from enum import Enum, auto


class ClientState(Enum):
    CONNECTED = auto()
    """Waiting for the server's greeting (RFC 5321 §3.1)."""
    REJECTED = auto()
    """The greeting refused service (554): only QUIT remains (RFC 5321 §3.1)."""
    GREETED = auto()
    """Greeted, or TLS just started: EHLO is due (RFC 3207 §4.2)."""
    HELLO = auto()
    """EHLO (or the HELO fallback) sent."""
    READY = auto()
    """No transaction in progress; commands may be sent."""
    STARTTLS = auto()
    """STARTTLS sent."""
    TLS_HANDSHAKE = auto()
    """220 to STARTTLS received; the driver runs the handshake."""
    AUTH = auto()
    """A SASL exchange is under way (RFC 4954)."""
    ENVELOPE = auto()
    """MAIL, RCPT and DATA sent (one at a time, or as one group with PIPELINING)."""
    DATA = auto()
    """354 received: the message data is being sent."""
    MESSAGE = auto()
    """The end of data sent; waiting for the verdict."""
    RESET = auto()
    """RSET sent (by the driver, or after a failed transaction)."""
    NOOP = auto()
    """NOOP sent."""
    QUIT = auto()
    """QUIT sent."""
    CLOSED = auto()


class Call(Enum):
    """The driver's calls that move the state."""

    EHLO = auto()
    STARTTLS = auto()
    TLS_STARTED = auto()
    AUTHENTICATE = auto()
    SEND_ENVELOPE = auto()
    SEND_DATA = auto()
    END_DATA = auto()
    RSET = auto()
    NOOP = auto()
    QUIT = auto()


def _calls() -> dict[tuple[ClientState, Call], ClientState]:
    table = {
        (ClientState.GREETED, Call.EHLO): ClientState.HELLO,
        (ClientState.READY, Call.EHLO): ClientState.HELLO,
        (ClientState.READY, Call.STARTTLS): ClientState.STARTTLS,
        (ClientState.TLS_HANDSHAKE, Call.TLS_STARTED): ClientState.GREETED,
        (ClientState.READY, Call.AUTHENTICATE): ClientState.AUTH,
        (ClientState.READY, Call.SEND_ENVELOPE): ClientState.ENVELOPE,
        (ClientState.DATA, Call.SEND_DATA): ClientState.DATA,
        (ClientState.DATA, Call.END_DATA): ClientState.MESSAGE,
        (ClientState.REJECTED, Call.QUIT): ClientState.QUIT,
    }
    for state in (ClientState.GREETED, ClientState.READY):
        table[(state, Call.RSET)] = ClientState.RESET
        table[(state, Call.NOOP)] = ClientState.NOOP
        table[(state, Call.QUIT)] = ClientState.QUIT
    return table


CALLS = _calls()

IDLE = frozenset({ClientState.GREETED, ClientState.READY, ClientState.REJECTED})
"""States where no reply is awaited and the driver may call."""
