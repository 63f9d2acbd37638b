"""Python's own SMTP client, `smtplib`, against a `ServerConnection`, all in memory.

smtplib is an independent reader of our replies (and writer of commands and data): a
fake socket hands what it sends to the connection and gives back what it answers.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from postier.protocol.smtp import ServerConfig
from postier.protocol.smtp.events import Closing, MessageComplete, RecipientAccepted
from tests.protocol import wire
from tests.protocol.helpers import CONFIG, FakeSession


class LoopbackSocket:
    """The little of a socket that smtplib uses, wired to a `FakeSession`."""

    def __init__(self, session: FakeSession) -> None:
        self.session = session
        self.incoming = bytearray(session.conn.data_to_send())

    def sendall(self, data: bytes) -> None:
        self.incoming += self.session.feed(data)

    def makefile(self, mode: str) -> LoopbackSocket:
        return self

    def readline(self, size: int = -1) -> bytes:
        end = self.incoming.find(b"\n") + 1
        if end == 0:
            return b""  # smtplib: the server said nothing, "connection unexpectedly closed"
        line = bytes(self.incoming[:end])
        del self.incoming[:end]
        return line

    def close(self) -> None:
        pass


class InMemorySMTP(smtplib.SMTP):
    def __init__(self, session: FakeSession) -> None:
        self.session = session
        super().__init__(local_hostname="client.test")
        self.connect("mx.test", 25)

    def _get_socket(self, host: str, port: int, timeout: float) -> LoopbackSocket:
        return LoopbackSocket(self.session)


def client(
    config: ServerConfig = CONFIG, passwords: dict[str, str] | None = None
) -> tuple[InMemorySMTP, FakeSession]:
    session = FakeSession(config, passwords=passwords)
    return InMemorySMTP(session), session


AUTH_ANY = ServerConfig(
    hostname=wire.HOSTNAME, auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"), auth_insecure=True
)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize("initial_response_ok", [True, False])
def test_smtplib_logs_in_with_each_mechanism(mechanism: str, initial_response_ok: bool) -> None:
    smtp, session = client(AUTH_ANY, {"alice": "s3cret"})
    smtp.ehlo()
    assert smtp.esmtp_features["auth"] == " PLAIN LOGIN CRAM-MD5"  # smtplib keeps the space
    smtp.user, smtp.password = "alice", "s3cret"
    authobject = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    code, _ = smtp.auth(mechanism, authobject, initial_response_ok=initial_response_ok)
    assert code == 235
    assert smtp.sendmail("a@b.test", ["c@d.test"], b"Subject: hi\r\n\r\nhi\r\n") == {}
    done = [e for e in session.events if isinstance(e, MessageComplete)]
    assert (done[0].auth_user, done[0].protocol) == ("alice", "ESMTPA")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_smtplib_hears_535_for_a_wrong_password(mechanism: str) -> None:
    smtp, _ = client(AUTH_ANY, {"alice": "right"})
    smtp.ehlo()
    smtp.user, smtp.password = "alice", "wrong"
    authobject = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        smtp.auth(mechanism, authobject)
    assert info.value.smtp_code == 535
    assert smtp.login("alice", "right") == (235, b"2.7.0 Authentication successful")


def test_ehlo_as_smtplib_reads_it() -> None:
    smtp, _ = client(ServerConfig(hostname=wire.HOSTNAME, tls_available=True))
    code, text = smtp.ehlo()
    assert (code, text.splitlines()[0]) == (250, b"mx.test greets client.test")
    assert smtp.esmtp_features == {
        "pipelining": "",
        "size": "33554432",
        "8bitmime": "",
        "smtputf8": "",
        "enhancedstatuscodes": "",
        "chunking": "",
        "binarymime": "",
        "starttls": "",
    }


def test_sendmail_stores_the_message_as_sent() -> None:
    smtp, session = client()
    message = b"Subject: hi\r\n\r\n.leading dot\r\n..two\r\nend"
    refused = smtp.sendmail("a@b.test", ["c@d.test", "postmaster"], message)
    assert refused == {}
    assert session.messages == [message + b"\r\n"]
    done = [e for e in session.events if isinstance(e, MessageComplete)]
    assert done[0].recipients == ("c@d.test", "postmaster")
    assert done[0].size == len(message) + 2
    assert smtp.quit() == (221, b"2.0.0 mx.test closing connection, bye")
    assert isinstance(session.events[-1], Closing)


def test_bare_lf_in_the_message_is_sent_as_crlf() -> None:
    smtp, session = client()
    smtp.sendmail("a@b.test", ["c@d.test"], "Subject: x\n\nline\n.\nafter\n")
    assert session.messages == [b"Subject: x\r\n\r\nline\r\n.\r\nafter\r\n"]


def test_several_messages_on_one_connection() -> None:
    smtp, session = client()
    for i in range(3):
        smtp.sendmail("a@b.test", [f"r{i}@d.test"], f"Subject: {i}\r\n\r\n{i}\r\n")
    assert session.messages == [f"Subject: {i}\r\n\r\n{i}\r\n".encode() for i in range(3)]


def test_refused_recipient_among_good_ones() -> None:
    smtp, session = client()
    refused = smtp.sendmail("a@b.test", ["c@d.test", "no-domain"], b"x\r\n")
    assert refused == {"no-domain": (501, b"5.1.3 Bad recipient address: not a valid address")}
    assert [e.recipient for e in session.events if isinstance(e, RecipientAccepted)] == ["c@d.test"]
    assert session.messages == [b"x\r\n"]


def test_size_announced_over_the_limit() -> None:
    smtp, session = client(ServerConfig(hostname=wire.HOSTNAME, max_message_size=50))
    with pytest.raises(smtplib.SMTPSenderRefused) as info:
        smtp.sendmail("a@b.test", ["c@d.test"], b"x" * 100)
    assert info.value.smtp_code == 552
    assert info.value.smtp_error.startswith(b"5.3.4 ")
    assert session.messages == []


def test_too_many_recipients() -> None:
    smtp, session = client(ServerConfig(hostname=wire.HOSTNAME, max_recipients=1))
    refused = smtp.sendmail("a@b.test", ["c@d.test", "e@d.test"], b"x\r\n")
    assert refused == {"e@d.test": (452, b"4.5.3 Error: too many recipients")}
    assert session.messages == [b"x\r\n"]


def test_smtputf8_message() -> None:
    smtp, session = client()
    message = EmailMessage()
    message["From"] = "usér@exämple.test"
    message["To"] = "dëst@exämple.test"
    message["Subject"] = "héllo"
    message.set_content("çà et là\n")
    assert smtp.send_message(message) == {}
    done = [e for e in session.events if isinstance(e, MessageComplete)]
    assert (done[0].sender, done[0].recipients) == ("usér@exämple.test", ("dëst@exämple.test",))
    assert (done[0].smtputf8, done[0].body, done[0].protocol) == (True, "8BITMIME", "UTF8SMTP")
    assert "çà et là".encode() in session.messages[0]


def test_other_commands() -> None:
    smtp, _ = client()
    assert smtp.noop() == (250, b"2.0.0 Ok")
    assert smtp.verify("someone") == (252, b"2.0.0 Cannot VRFY user, but will accept message")
    assert smtp.help().startswith(b"2.0.0 Commands: EHLO HELO")
    assert smtp.rset() == (250, b"2.0.0 Ok: transaction reset")
    assert smtp.docmd("EXPN", "list") == (502, b"5.5.1 Error: EXPN not implemented")
    assert smtp.docmd("FOO") == (500, b"5.5.1 Error: command not recognized")
    assert smtp.docmd("RCPT", "TO:<c@d.test>") == (503, b"5.5.1 Error: send HELO/EHLO first")
    assert smtp.helo() == (250, b"mx.test greets client.test")
    assert smtp.docmd("RCPT", "TO:<c@d.test>") == (503, b"5.5.1 Error: need MAIL command")


def test_data_refused_for_a_long_line() -> None:
    smtp, session = client()
    with pytest.raises(smtplib.SMTPDataError) as info:
        smtp.sendmail("a@b.test", ["c@d.test"], b"x" * 1500 + b"\r\n")
    assert info.value.smtp_code == 554
    assert smtp.noop()[0] == 250, "the session goes on"
    assert not [e for e in session.events if isinstance(e, MessageComplete)]
