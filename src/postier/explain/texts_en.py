"""The narration in English."""

from __future__ import annotations

from typing import Final

import postier.protocol.smtp as core
from postier.ends import EndReason
from postier.protocol.smtp import ClientState, State

from .texts import Say, Texts

ENGLISH: Final = Texts(
    says={
        Say.ACCEPTED: "client {peer} connected on port {port} (clients connected: {count})",
        Say.REFUSED: "client {peer} turned away: {reason}",
        Say.TLS_UP: "TLS is up ({info}): everything said before is forgotten, the client "
        "says EHLO again (RFC 3207 §4.2)",
        Say.TOO_LONG: "a line over {limit} octets: thrown away as it came, never kept "
        "(RFC 5321 §4.5.3.1.4)",
        Say.BARE_LF: "this line ended with LF alone, not CR LF (RFC 5321 §2.3.8): that is "
        "what nc sends unless started as `nc -C HOST PORT`. Commands are taken anyway, but "
        "the message only ends at CR LF . CR LF",
        Say.UNPARSED: "not a command in SMTP's grammar: the reply says what is wrong",
        Say.SECRET: "a line of the AUTH exchange (hidden: it carries credentials)",
        Say.MOVE: "{before} → {after}: {meaning}",
        Say.NEXT: "the server now waits for {verbs}",
        Say.UNKNOWN_VERB: "postier knows these commands: {verbs} (RFC 5321 §4.1.1)",
        Say.SEQUENCE: "not now: in this state the server takes {verbs} (RFC 5321 §4.1.4)",
        Say.DATA_MORE: "… and {count} more lines of the message, not shown",
        Say.STORED: "the mailbox of <{recipient}> keeps it: {path} ({size} octets)",
        Say.ON_DISK: "every copy is written and flushed to disk: only now may the client hear 250",
        Say.UNSYNCED: "every copy is written (--no-fsync: not flushed to disk, a power cut "
        "may lose it): the client hears 250",
        Say.NOT_STORED: "the message could not be kept: no copy stays, the client hears "
        "451 and may send it again later",
        Say.UNKNOWN_CODE: "a reply postier has no words for",
        Say.CODE: "{code}: {meaning}",
        Say.HINT: "{what}: {hint}",
        Say.COMPOSED: "the message is written: {size} octets, subject «{subject}», for "
        "{recipients}",
        Say.GREETED: "the server is ready: the client introduces itself (EHLO)",
        Say.GO_ON: "{code} ({meaning}): the client may go on",
        Say.DATA_ALLOWED: "354 allows the data: the writer's message goes out, then a "
        "line holding a lone '.'",
        Say.DATA_SENT: "the lone '.' ends the message: the server's answer says whether it is kept",
        Say.TRY_LATER: "{code} ({meaning}): a 4xx is temporary, try again later; the "
        "client does not go on with it",
        Say.STOPPED: "{code} ({meaning}): a 5xx is final, the client stops there",
        Say.CLIENT_DONE: "the conversation is over",
        Say.NOTE: "{note}",
        Say.CHAOS: "chaos ({trigger}): that failure is on purpose, to test how the "
        "client copes; a real server could answer the same",
    },
    states={
        State.CONNECTED: "greeted; the client must introduce itself (EHLO or HELO)",
        State.READY: "no transaction under way; a message starts with MAIL FROM",
        State.MAIL: "the sender is known; now the recipients, RCPT TO",
        State.RCPT: "at least one recipient; more RCPT TO, or DATA (or BDAT) for the message",
        State.DATA: "reading the message, line by line, up to a line holding a lone '.'",
        State.BDAT: "reading the octets of one BDAT chunk (RFC 3030)",
        State.CHUNKING: "between BDAT chunks: more BDAT, or BDAT ... LAST to end",
        State.DELIVERING: "the message is whole; the intermediaries keep it before any reply",
        State.TLS_PENDING: "220 sent to STARTTLS: the TLS handshake comes next",
        State.AUTH: "334 sent: the next line answers the AUTH challenge (RFC 4954 §4)",
        State.AUTH_CHECKING: "credentials received; the password is being checked",
        State.SENDER_CHECKING: "MAIL passed the checks; the server's policy decides about "
        "the sender",
        State.RECIPIENT_CHECKING: "RCPT passed the checks; the server's policy decides "
        "about the recipient (--accept, --reject, chaos)",
        State.CLOSED: "the conversation is over",
    },
    commands={
        core.Helo: "HELO: the client calls itself {name} (plain SMTP, no extensions)",
        core.Ehlo: "EHLO: the client calls itself {name} and asks for the extensions (ESMTP)",
        core.Mail: "MAIL: a new message, from <{sender}>",
        core.Rcpt: "RCPT: one recipient, <{recipient}>, whose mailbox will keep a copy",
        core.Data: "DATA: the message itself comes next",
        core.Rset: "RSET: forget the transaction under way",
        core.Noop: "NOOP: nothing to do, only a sign of life",
        core.Vrfy: "VRFY: does this address exist? ({argument})",
        core.Help: "HELP: a word of help",
        core.Quit: "QUIT: the client is done",
        core.StartTls: "STARTTLS: go on under TLS",
        core.Auth: "AUTH: log in with {mechanism}",
        core.Bdat: "BDAT: a chunk of the message, {size} octets",
    },
    events={
        core.HeloAccepted: "the client is now known as {name}",
        core.TransactionStarted: "a transaction begins: the sender is <{sender}>",
        core.SenderOffered: "the server's policy looks at the sender <{sender}>",
        core.RecipientOffered: "the server's policy looks at <{recipient}> (from <{sender}>): "
        "take it, refuse it for good (5xx), or for now (4xx)",
        core.RecipientAccepted: "<{recipient}> joins the transaction (recipients so far: {count})",
        core.DataStarted: "the message's lines follow",
        core.DataChunk: "a line of the message",
        core.MessageComplete: "the message is whole: {size} octets, recipients: {count}; "
        "the server hands it to their intermediaries",
        core.MessageRefused: "the message is refused ({size} octets): nothing is kept",
        core.CommandRefused: "refused, and the conversation goes on",
        core.CredentialsReceived: "the credentials are in (not shown); checking them",
        core.StartTlsRequested: "the TLS handshake begins",
        core.Closing: "the server ends the conversation",
    },
    codes={
        211: "system status",
        214: "help",
        220: "ready: the service is open",
        221: "goodbye: the server closes the connection",
        235: "logged in",
        250: "done",
        252: "cannot verify, but will take mail for it",
        334: "go on: the AUTH exchange needs another line",
        354: "go ahead: send the message, end it with a line holding a lone '.'",
        421: "the service is closing: try again later",
        450: "mailbox busy: try again later",
        451: "local error: nothing was kept, try again later",
        452: "not enough room now: try again later",
        454: "TLS is not available now",
        455: "these parameters cannot be taken now",
        500: "not understood: no such command, or a line too long",
        501: "the command's arguments are wrong",
        502: "not implemented",
        503: "bad sequence: not now",
        504: "that parameter is not implemented",
        530: "log in first (AUTH)",
        535: "wrong user name or password",
        538: "only under TLS",
        550: "no such mailbox, or not allowed",
        551: "the user is not here",
        552: "too big for the server",
        553: "that mailbox name is not allowed",
        554: "the transaction failed",
        555: "MAIL or RCPT parameters not recognised",
    },
    ends={
        EndReason.CLIENT_CLOSED: "the client closed the connection",
        EndReason.QUIT: "QUIT: 221 said, the connection is closed",
        EndReason.SHUTDOWN: "the server stops: 421 to every client, a message under way "
        "finished first",
        EndReason.TIMEOUT: "the client said nothing in time: 421, and the connection is cut",
        EndReason.INTERNAL_ERROR: "an error inside postier: 421 to the client, details in the log",
        EndReason.REFUSED: "turned away at the door",
        EndReason.CONNECTION_LOST: "the connection was lost",
        EndReason.TLS_FAILED: "the TLS handshake failed",
        EndReason.CLOSED: "the server closed the conversation (too many errors, say)",
        EndReason.CHAOS: "chaos: the server hung up in the middle of the message, on "
        "purpose; nothing is kept, the client must send it again",
    },
    sequence_hints={
        core.Helo: "HELO/EHLO is not taken here: finish the message under way first",
        core.Ehlo: "HELO/EHLO is not taken here: finish the message under way first",
        core.Mail: "MAIL comes after EHLO (or HELO), once per message: send EHLO first, or "
        "finish the message under way (or RSET); RFC 5321 §4.1.4",
        core.Rcpt: "the sender must come first, MAIL FROM:<...>; RFC 5321 §4.1.4",
        core.Data: "DATA needs a sender and at least one recipient: MAIL FROM:<...> then "
        "RCPT TO:<...>; RFC 5321 §4.1.1.4",
        core.Bdat: "BDAT needs a sender and at least one recipient, and cannot follow DATA; "
        "RFC 3030 §2",
        core.Rset: "RSET is not taken in the middle of a message",
        core.Noop: "NOOP is not taken in the middle of a message",
        core.Vrfy: "VRFY is not taken in the middle of a message",
        core.Help: "HELP is not taken in the middle of a message",
        core.Quit: "QUIT is not taken in the middle of a message",
        core.StartTls: "STARTTLS comes after EHLO, once, outside a transaction; RFC 3207 §4",
        core.Auth: "AUTH comes after EHLO, once, outside a transaction (and under TLS unless "
        "allowed); RFC 4954 §4",
    },
    syntax_hints={
        core.Helo: "the form is HELO your-domain; RFC 5321 §4.1.1.1",
        core.Ehlo: "the form is EHLO your-domain; RFC 5321 §4.1.1.1",
        core.Mail: "the form is MAIL FROM:<address>, angle brackets included; RFC 5321 §4.1.1.2",
        core.Rcpt: "the form is RCPT TO:<address>, angle brackets included; RFC 5321 §4.1.1.3",
        core.Data: "DATA takes no argument; RFC 5321 §4.1.1.4",
        core.Rset: "RSET takes no argument; RFC 5321 §4.1.1.5",
        core.Noop: "the form is NOOP, with an optional word; RFC 5321 §4.1.1.9",
        core.Vrfy: "the form is VRFY address; RFC 5321 §4.1.1.6",
        core.Help: "the form is HELP, with an optional word; RFC 5321 §4.1.1.8",
        core.Quit: "QUIT takes no argument; RFC 5321 §4.1.1.10",
        core.StartTls: "STARTTLS takes no argument; RFC 3207 §4",
        core.Auth: "the form is AUTH MECHANISM [initial-response]; RFC 4954 §4",
        core.Bdat: "the form is BDAT size [LAST]; RFC 3030 §2",
    },
    client_states={
        ClientState.CONNECTED: "connected; waiting for the server's greeting (RFC 5321 §3.1)",
        ClientState.REJECTED: "the greeting refused service (554): only QUIT is left",
        ClientState.GREETED: "greeted (or TLS just began): the client introduces itself, EHLO",
        ClientState.HELLO: "EHLO sent (or HELO, if EHLO is not understood)",
        ClientState.READY: "no transaction under way: the client may start one, MAIL FROM",
        ClientState.STARTTLS: "STARTTLS sent; waiting for 220",
        ClientState.TLS_HANDSHAKE: "220 to STARTTLS: the TLS handshake runs",
        ClientState.AUTH: "logging in: the SASL exchange goes on (RFC 4954)",
        ClientState.ENVELOPE: "MAIL, RCPT and DATA sent (together, with PIPELINING)",
        ClientState.DATA: "354 heard: the message goes out",
        ClientState.MESSAGE: "the lone '.' sent: waiting for the server's verdict",
        ClientState.RESET: "RSET sent: the transaction is forgotten",
        ClientState.NOOP: "NOOP sent",
        ClientState.QUIT: "QUIT sent: waiting for 221",
        ClientState.CLOSED: "the conversation is over",
    },
    client_events={
        core.Greeting: "the server greets the client",
        core.ClientGreeted: "the server has said which extensions it offers",
        core.TlsReady: "the server is ready for TLS",
        core.Authenticated: "the login is accepted",
        core.DataReady: "the server waits for the message",
        core.Refused: "the server refused {command}",
        core.Done: "the server agreed",
        core.Closed: "the connection is closed",
        core.TransactionDone: "the transaction is over: recipients accepted {accepted}, "
        "refused {refused}",
    },
)
