"""Python's poplib, a client nobody here wrote, against a running `postier serve`: plain,
STLS, POP3S, UIDL, TOP, DELE then QUIT, for mbox and Maildir stores."""

from __future__ import annotations

import mailbox
import poplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from postier.store.read import Reader
from tests.conftest import StartServer
from tests.support.mailboxes import messages
from tests.support.pop3 import POP3_ARGS, deliver, expected, lines_to_bytes, numbered, pop3_address
from tests.support.server import ServerProcess
from tests.support.tls import TlsFiles

USER = "you@exemple.fr"
FORMATS = ("mbox", "maildir")


@contextmanager
def pop3(server: ServerProcess, user: str = USER, password: str = "any") -> Iterator[poplib.POP3]:
    client = poplib.POP3(*pop3_address(server), timeout=20)
    try:
        client.user(user)
        client.pass_(password)
        yield client
    finally:
        client.close()


def stored_ids(store: Path, address: str) -> list[str]:
    """The stable IDs of the mailbox, oldest first, through the store's read side."""
    with Reader(store) as reader:
        return [m.id for m in reversed(reader.messages(address, limit=None).messages)]


def read_flags(store: Path, address: str) -> list[bool]:
    with Reader(store) as reader:
        return [m.read for m in reversed(reader.messages(address, limit=None).messages)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_retr_list_stat_and_uidl_are_the_store_byte_for_byte(
    start_server: StartServer, fmt: str
) -> None:
    server = start_server(*POP3_ARGS, "--format", fmt)
    deliver(server, USER, numbered(5, size=3000))
    # In the order of delivery (a Maildir's file names need not sort that way).
    want = sorted(expected(server.store, USER, fmt), key=lambda m: m.split(b"Subject: ")[1])
    assert len(want) == 5
    with pop3(server) as client:
        count, total = client.stat()
        assert (count, total) == (5, sum(len(m) for m in want))
        _, listing, _ = client.list()
        assert listing == [b"%d %d" % (n, len(m)) for n, m in enumerate(want, start=1)]
        _, uids, _ = client.uidl()
        assert [u.split()[1].decode() for u in uids] == stored_ids(server.store, USER)
        for number, message in enumerate(want, start=1):
            response, lines, _ = client.retr(number)
            assert response == b"+OK %d octets" % len(message)
            assert lines_to_bytes(lines) == message
        assert client.uidl(2) == b"+OK 2 " + uids[1].split()[1]
        client.quit()
    assert read_flags(server.store, USER) == [True] * 5


def test_top_sends_the_header_and_n_lines(start_server: StartServer) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, [b"Subject: t\r\n\r\nl1\r\n.l2\r\nl3\r\n"])
    [message] = expected(server.store, USER, "mbox")
    head, _, _ = message.partition(b"\r\n\r\n")
    with pop3(server) as client:
        _, lines, _ = client.top(1, 2)
        assert lines_to_bytes(lines) == head + b"\r\n\r\nl1\r\n.l2\r\n"
        _, lines, _ = client.top(1, 0)
        assert lines_to_bytes(lines) == head + b"\r\n\r\n"
        client.quit()
    assert read_flags(server.store, USER) == [False]  # TOP is no retrieval


@pytest.mark.parametrize("fmt", FORMATS)
def test_dele_then_quit_removes_those_and_keeps_the_rest(
    start_server: StartServer, fmt: str
) -> None:
    server = start_server(*POP3_ARGS, "--format", fmt)
    deliver(server, USER, numbered(6))
    before = messages(server.store, USER, fmt)
    gone = set()
    with pop3(server) as client:
        for number in (1, 3, 6):
            gone.add(next(line for line in client.top(number, 0)[1] if b"Subject" in line))
            client.dele(number)
        with pytest.raises(poplib.error_proto, match="already deleted"):
            client.retr(3)
        assert client.stat()[0] == 3
        client.quit()
    assert gone == {b"Subject: message 0", b"Subject: message 2", b"Subject: message 5"}
    # (a Maildir's file names need not sort in the order of delivery: compared as sets)
    kept = [m for m in before if not any(subject + b"\n" in m for subject in gone)]
    assert sorted(messages(server.store, USER, fmt)) == sorted(kept) and len(kept) == 3
    if fmt == "mbox":
        box = mailbox.mbox(server.store / f"{USER}.mbox", create=False)
        assert len(box) == 3
        box.close()


def test_rset_takes_the_marks_back_and_a_dropped_connection_deletes_nothing(
    start_server: StartServer,
) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, numbered(3))
    with pop3(server) as client:
        client.dele(1)
        client.rset()
        client.dele(2)
        client.quit()
    assert len(messages(server.store, USER, "mbox")) == 2
    with pop3(server) as client:
        client.dele(1)
        client.dele(2)
        # closed without QUIT
    with pop3(server) as client:
        assert client.stat()[0] == 2
        client.quit()


def test_a_second_login_while_the_first_holds_the_mailbox_is_in_use(
    start_server: StartServer,
) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, numbered(1))
    with pop3(server) as first:
        second = poplib.POP3(*pop3_address(server), timeout=20)
        try:
            second.user(USER.upper())
            with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
                second.pass_("x")
            with pop3(server, "other@exemple.fr") as other:
                assert other.stat() == (0, 0)  # another mailbox is free
                other.quit()
        finally:
            second.close()
        first.quit()
    with pop3(server) as again:  # released on QUIT
        assert again.stat()[0] == 1
        again.quit()


def test_mail_delivered_during_a_session_is_there_at_the_next_login(
    start_server: StartServer,
) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, numbered(2))
    with pop3(server) as client:
        assert client.stat()[0] == 2
        deliver(server, USER, [b"Subject: late\r\n\r\narrived during the session\r\n"])
        assert client.stat()[0] == 2
        assert len(client.list()[1]) == 2
        with pytest.raises(poplib.error_proto, match="no such message"):
            client.retr(3)
        client.dele(1)
        client.quit()
    with pop3(server) as client:
        assert client.stat()[0] == 2
        _, lines, _ = client.retr(2)
        assert lines[-1] == b"arrived during the session"
        client.quit()


def test_stls_then_login_and_no_password_in_clear(
    start_server: StartServer, tls_files: TlsFiles
) -> None:
    server = start_server("--pop3-port", "0", "--auth", "any", "--tls-cert", str(tls_files.pem))
    deliver(server, USER, numbered(2))
    client = poplib.POP3(*pop3_address(server), timeout=20)
    try:
        caps = client.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            client.user(USER)
        context = tls_files.client_context()
        context.check_hostname = False
        client.stls(context)
        caps = client.capa()
        assert "STLS" not in caps and "USER" in caps and caps["SASL"][:2] == ["PLAIN", "LOGIN"]
        client.user(USER)
        client.pass_("secret")
        assert client.stat()[0] == 2
        assert client.retr(1)[1][-1] == b"."  # the last line of the body: a lone dot
        client.quit()
    finally:
        client.close()


def test_pop3s_is_tls_from_the_first_byte(start_server: StartServer, tls_files: TlsFiles) -> None:
    server = start_server("--pop3s-port", "0", "--auth", "any", "--tls-cert", str(tls_files.pem))
    deliver(server, USER, numbered(1))
    context = tls_files.client_context()
    _, port = pop3_address(server, implicit_tls=True)
    client = poplib.POP3_SSL("127.0.0.1", port, context=context, timeout=20)
    try:
        assert "STLS" not in client.capa()
        client.user(USER)
        client.pass_("x")
        assert client.stat()[0] == 1
        client.quit()
    finally:
        client.close()
    with pytest.raises(ssl.SSLError):
        poplib.POP3_SSL("127.0.0.1", port, context=ssl.create_default_context(), timeout=20)


def test_a_message_deleted_elsewhere_during_the_session_does_not_stop_the_update(
    start_server: StartServer,
) -> None:
    server = start_server(*POP3_ARGS)
    deliver(server, USER, numbered(4))
    ids = stored_ids(server.store, USER)
    with pop3(server) as client:
        client.dele(1)
        client.dele(2)
        client.retr(3)
        with Reader(server.store) as reader:  # the HTTP API or `postier delete`, meanwhile
            reader.delete([ids[0], ids[3]], wait=True)
        with pytest.raises(poplib.error_proto, match=r"\[SYS/PERM\]"):
            client.retr(4)
        assert client.quit().startswith(b"+OK")
    assert stored_ids(server.store, USER) == [ids[2]]
    assert read_flags(server.store, USER) == [True]
