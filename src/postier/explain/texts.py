"""What a language's catalogue holds: one text for every step the narrator tells.

`tests/explain/test_catalogues.py` checks that each catalogue has a text for every
state, command, event, reply code and end of either core: one added without its texts
fails the suite, so the narration never falls silent on a step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, auto

from postier.ends import EndReason
from postier.protocol.smtp import ClientEvent, ClientState, Command, ServerEvent, State


class Say(Enum):
    """The narrator's own sentences (those not tied to a state, command or event)."""

    ACCEPTED = auto()
    """{peer}, {port}, {count}."""
    REFUSED = auto()
    """{peer}, {reason}."""
    TLS_UP = auto()
    """{info}."""
    TOO_LONG = auto()
    """{limit}."""
    BARE_LF = auto()
    UNPARSED = auto()
    SECRET = auto()
    MOVE = auto()
    """{before}, {after}, {meaning}."""
    NEXT = auto()
    """{verbs}."""
    UNKNOWN_VERB = auto()
    """{verbs}."""
    SEQUENCE = auto()
    """{verbs}: the fallback when no hint fits."""
    DATA_MORE = auto()
    """{count}."""
    STORED = auto()
    """{recipient}, {path}, {size}."""
    ON_DISK = auto()
    UNSYNCED = auto()
    """`--no-fsync`: the copies are written, not flushed."""
    NOT_STORED = auto()
    UNKNOWN_CODE = auto()
    CODE = auto()
    """{code}, {meaning}: a reply's code and what it means."""
    HINT = auto()
    """{what}, {hint}: a refusal and what to send instead."""
    # The client's parts (`postier send --explain`).
    COMPOSED = auto()
    """{size}, {subject}, {recipients}: the writer's message."""
    GREETED = auto()
    GO_ON = auto()
    """{code}, {meaning}."""
    DATA_ALLOWED = auto()
    DATA_SENT = auto()
    TRY_LATER = auto()
    """{code}, {meaning}."""
    STOPPED = auto()
    """{code}, {meaning}."""
    CLIENT_DONE = auto()
    NOTE = auto()
    """{note}: what happened beside the wire (TLS started, lines left out)."""
    CHAOS = auto()
    """{trigger}: the reply just sent is a failure made on purpose (`--chaos`)."""


@dataclass(frozen=True, slots=True)
class Texts:
    """One language's catalogue. Texts are `str.format` templates; their fields are
    named in the docstrings of `Say` and beside each table's entries."""

    says: Mapping[Say, str]
    states: Mapping[State, str]
    """What the server waits for in each state."""
    commands: Mapping[type[Command], str]
    """What a command asks; fields are the command's own (`{sender}`, `{name}`...)."""
    events: Mapping[type[ServerEvent], str]
    """Fields are the event's own, plus `{count}` (recipients so far) for recipients."""
    codes: Mapping[int, str]
    """What each reply code means (RFC 5321 §4.2, RFC 4954, RFC 3207)."""
    ends: Mapping[EndReason, str]
    sequence_hints: Mapping[type[Command], str]
    """A 503: why the command comes too soon, what to send first, the RFC section."""
    syntax_hints: Mapping[type[Command], str]
    """A 501: the command's right form and its RFC section."""
    client_states: Mapping[ClientState, str]
    """The client core's states: what the client waits for in each."""
    client_events: Mapping[type[ClientEvent], str]
    """What each event of the client core means; `TransactionDone` is given
    `{accepted}` and `{refused}` (recipients), `Refused` its `{command}`."""
